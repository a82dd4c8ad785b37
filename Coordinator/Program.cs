using System.Runtime.InteropServices;
using RnnCluster.Coordinator.Cli;

// First Ctrl-C or SIGTERM: cancel the run gracefully (the trainer checkpoints, then exits).
// A second Ctrl-C falls through to the default handler and ends the process at once.
using var cancellation = new CancellationTokenSource();
var interrupts = 0;
Console.CancelKeyPress += (_, e) =>
{
    if (Interlocked.Increment(ref interrupts) == 1)
    {
        e.Cancel = true;
        cancellation.Cancel();
    }
};
using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, context =>
{
    context.Cancel = true;
    cancellation.Cancel();
});

return await CliApp.RunAsync(args, CliConsole.System, cancellation.Token).ConfigureAwait(false);
