using System.Runtime.InteropServices;
using RnnCluster.Worker;

// First Ctrl-C or SIGTERM: leave the cluster gracefully, then exit 0. A second Ctrl-C ends the
// process at once (the coordinator then notices through its failure detector).
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

return await WorkerApp.RunAsync(args, Console.Out, Console.Error, cancellation.Token).ConfigureAwait(false);
