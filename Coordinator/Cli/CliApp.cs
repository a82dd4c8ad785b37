using System.CommandLine;
using System.Text.Json;
using RnnCluster.Config;
using RnnCluster.Data;
using RnnCluster.Model.Checkpoints;
using RnnCluster.Torch;
using RnnCluster.Training;

namespace RnnCluster.Coordinator.Cli;

/// <summary>
/// The <c>rnncluster</c> command line. Every known kind of bad input ends here as one line
/// "error: …" naming the file, key or field, and a non-zero exit code — never a stack trace.
/// </summary>
public static class CliApp
{
    /// <summary>Exit codes: 0 ok, 1 bad input or failed run, 2 usage, 130 interrupted (after checkpointing).</summary>
    public const int ExitOk = 0;
    public const int ExitFailure = 1;
    public const int ExitUsage = 2;
    public const int ExitInterrupted = 130;

    public static async Task<int> RunAsync(string[] args, CliConsole console, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(console);
        var root = new RootCommand("RnnCluster: train recurrent sequence models (LSTM, GRU, Elman RNN) with libtorch, on one machine or a cluster.")
        {
            TrainCommand.Create(console),
            EvalCommand.Create(console),
            SampleCommand.Create(console),
            PredictCommand.Create(console),
            InfoCommand.Create(console),
            DataCommand.Create(console),
            ReportCommand.Create(console),
        };
        var parse = root.Parse(args);
        var invocation = new InvocationConfiguration
        {
            Output = console.Out,
            Error = console.Error,
            EnableDefaultExceptionHandler = false,
            ProcessTerminationTimeout = null, // our own handler cancels; the trainer must get to checkpoint
        };
        try
        {
            var code = await parse.InvokeAsync(invocation, cancellationToken).ConfigureAwait(false);
            return parse.Errors.Count > 0 ? ExitUsage : code;
        }
        catch (Parallel.Cluster.StandbyStoppedException e)
        {
            await console.Error.WriteLineAsync(e.Message).ConfigureAwait(false);
            return ExitInterrupted;
        }
        catch (Exception e) when (Describe(e) is { } message)
        {
            await console.Error.WriteLineAsync("error: " + message).ConfigureAwait(false);
            return e is ConfigException ? ExitUsage : ExitFailure;
        }
    }

    /// <summary>The one-line message for an expected failure; null for a bug (which keeps its stack trace).</summary>
    internal static string? Describe(Exception e) => e switch
    {
        ConfigException or DataException or CheckpointException or TorchException or TorchUnavailableException or TrainingAbortedException or DataPlane.ClusterSecretException or DataPlane.Transport.TlsConfigurationException => e.Message,
        Reports.ReportInputException => e.Message,
        FileNotFoundException f => $"file not found: {f.FileName ?? f.Message}",
        DirectoryNotFoundException => e.Message,
        UnauthorizedAccessException => e.Message,
        JsonException j => $"malformed JSON: {j.Message}",
        CliUsageException => e.Message,
        IOException => e.Message,
        _ => TorchRuntime.DescribeFailure(e),
    };
}

/// <summary>A command-line value that is well-formed but unusable (named option and reason).</summary>
public sealed class CliUsageException(string message) : Exception(message);
