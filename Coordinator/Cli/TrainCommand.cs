using System.CommandLine;
using System.Globalization;
using Microsoft.Extensions.Logging;
using RnnCluster.Common;
using RnnCluster.Config;
using RnnCluster.Data;
using RnnCluster.Data.Tasks;
using RnnCluster.Model.Checkpoints;
using RnnCluster.Torch;
using RnnCluster.Training;
using RnnCluster.Parallel;
using RnnCluster.Training.Parallel;
using RnnCluster.Training.Tasks;

namespace RnnCluster.Coordinator.Cli;

/// <summary><c>rnncluster train</c>: trains on one node, checkpoints, writes metrics and a summary, prints a sample.</summary>
internal static class TrainCommand
{
    public static Command Create(CliConsole console)
    {
        var config = new Option<FileInfo?>("--config") { Description = "HOCON settings file (default: built-in defaults, the same as cluster.hocon)" };
        var data = new Option<string?>("--data") { Description = "training data: a text file, a directory with train.txt/valid.txt/test.txt, or builtin:agreement | builtin:parity | builtin:agreement-number | builtin:tagging | builtin:reverse (default: data.path)" };
        var runDir = new Option<DirectoryInfo?>("--run-dir") { Description = "where checkpoints, metrics.jsonl and summary.json go (default: runs/<UTC time>, or the resumed run's directory)" };
        var set = new Option<string[]>("--set") { Description = "override one setting, e.g. --set training.learning-rate=5 (repeatable)", AllowMultipleArgumentsPerToken = false, Arity = ArgumentArity.ZeroOrMore };
        var resume = new Option<DirectoryInfo?>("--resume") { Description = "continue exactly from a checkpoint directory or a run directory's newest checkpoint" };
        var maxSteps = new Option<long?>("--max-steps") { Description = "stop once the run has taken this many optimizer steps, counting those before a resume (training.max-steps)" };
        var epochs = new Option<int?>("--epochs") { Description = "number of epochs (training.epochs)" };
        var sampleLength = new Option<int>("--sample-length") { Description = "tokens to generate from the trained model at the end (0 = none)", DefaultValueFactory = _ => 40 };
        var plain = new Option<bool>("--plain") { Description = "plain log lines instead of the live progress display" };
        var dashboard = new Option<bool>("--dashboard") { Description = "serve the live dashboard, /metrics and /status on monitor.host:monitor.port (default 127.0.0.1:8480) in any mode; --cluster serves it unless monitor.enabled = off. See docs/monitoring.md" };
        var workers = new Option<int?>("--workers") { Description = "data-parallel worker actors in this process (parallel.workers, default 2); 0 = single-replica trainer" };
        var cluster = new Option<bool>("--cluster") { Description = "be the coordinator (first seed) of a multi-process run: listen on cluster.host:cluster.port, wait for cluster.min-workers rnncluster-worker processes, train with them (they average gradients among themselves by all-reduce; cluster.gradient-exchange); resumes from --run-dir's newest checkpoint when there is one (or from the workers' copy of the run when it is newer). With cluster.seeds set it joins those nodes as a standby coordinator on the same --run-dir, and takes over when the coordinator's node fails or leaves" };
        var presets = string.Join(Environment.NewLine, BuiltinPreset.All.Select(p => $"  {p.Data}: {(p.Settings.Count == 0 ? "the defaults" : BuiltinPreset.Describe(p.Settings))} -> {p.Result}"));
        var command = new Command(
            "train",
            "Train a model (the embedded default: a 2x200 LSTM language model on builtin:agreement)." + Environment.NewLine
            + "Built-in data brings its recommended settings (a preset); --config and --set override any of them:" + Environment.NewLine + presets)
        {
            config, data, runDir, set, resume, maxSteps, epochs, workers, cluster, sampleLength, plain, dashboard,
        };
        command.SetAction(async (parse, ct) =>
        {
            // RNNCLUSTER_SET first, so the command line wins.
            var overrides = new List<string>(ConfigOverrides.FromEnvironment());
            overrides.AddRange(parse.GetValue(set) ?? []);
            if (parse.GetValue(data) is { } d)
            {
                overrides.Add($"data.path={HoconString(d)}");
            }

            if (parse.GetValue(maxSteps) is { } m)
            {
                overrides.Add($"training.max-steps={m.ToString(CultureInfo.InvariantCulture)}");
            }

            if (parse.GetValue(workers) is { } w)
            {
                overrides.Add($"parallel.workers={w.ToString(CultureInfo.InvariantCulture)}");
            }

            if (parse.GetValue(epochs) is { } e)
            {
                overrides.Add($"training.epochs={e.ToString(CultureInfo.InvariantCulture)}");
            }

            var request = new TrainRequest(
                parse.GetValue(config)?.FullName,
                overrides,
                parse.GetValue(runDir)?.FullName,
                parse.GetValue(resume)?.FullName,
                parse.GetValue(sampleLength),
                parse.GetValue(plain) || !console.IsInteractive,
                parse.GetValue(cluster),
                parse.GetValue(dashboard));
            return await RunAsync(request, console, ct).ConfigureAwait(false);
        });
        return command;
    }

    internal static async Task<int> RunAsync(TrainRequest request, CliConsole console, CancellationToken cancellationToken)
    {
        if (request.SampleLength < 0)
        {
            throw new CliUsageException($"--sample-length must be >= 0, got {request.SampleLength}");
        }

        string? resumeFrom = null;
        string? resumeConfig = null;
        var resumeRequest = request.Resume;
        if (resumeRequest is null && request.Cluster && request.RunDirectory is { } clusterRun && CheckpointStore.FindLatest(clusterRun) is not null)
        {
            // A coordinator restarted by its supervisor (systemd, Kubernetes, a launcher) runs the same
            // command line again: it must continue the run, not refuse the directory.
            resumeRequest = clusterRun;
        }

        if (resumeRequest is { } resume)
        {
            // A run directory resumes from its newest checkpoint that verifies; each damaged newer one is named.
            var loaded = CheckpointReader.Load(resume);
            foreach (var skipped in loaded.Skipped)
            {
                await console.Error.WriteLineAsync($"warning: {skipped}").ConfigureAwait(false);
            }

            resumeFrom = loaded.Directory;
            resumeConfig = loaded.ConfigText;
        }

        // Settings: an explicit --config wins; a resume otherwise keeps the settings it was saved with.
        AppliedPreset? preset = null;
        RnnClusterSettings settings;
        if (request.ConfigPath is null && resumeConfig is not null)
        {
            settings = ConfigLoader.LoadText(resumeConfig, Path.Combine(resumeFrom!, "config.hocon"), request.Overrides);
        }
        else if (resumeConfig is not null)
        {
            // A resume never takes a preset: its settings are the file's, as the run was started with them.
            settings = ConfigLoader.Load(request.ConfigPath, request.Overrides);
        }
        else
        {
            (settings, preset) = ConfigLoader.LoadWithPreset(request.ConfigPath, request.Overrides);
        }

        TorchRuntime.EnsureLoaded();
        if (preset is not null && (preset.Applied.Count > 0 || preset.Overridden.Count > 0))
        {
            await console.Out.WriteLineAsync(preset.ToString()).ConfigureAwait(false);
        }

        var runDirectory = request.RunDirectory
            ?? (resumeFrom is not null ? Path.GetDirectoryName(Path.GetDirectoryName(resumeFrom))! : DefaultRunDirectory());
        if (resumeFrom is null && CheckpointStore.FindLatest(runDirectory) is { } existing)
        {
            throw new CliUsageException($"run directory {runDirectory} already holds checkpoints (newest: {existing}); pass --resume {runDirectory} to continue it, or choose another --run-dir");
        }

        var kind = TaskSetup.ResolveKind(settings.Data);
        if (kind != TaskKind.LanguageModel)
        {
            return await RunTaskAsync(request, settings, kind, runDirectory, resumeFrom, console, cancellationToken).ConfigureAwait(false);
        }

        var corpus = CorpusLoader.Load(settings.Data.Path, TrainingSetup.Corpus(settings.Data));
        if (corpus.ReplacedBytes > 0)
        {
            await console.Error.WriteLineAsync($"warning: {corpus.ReplacedBytes} invalid UTF-8 bytes in {corpus.Source} were replaced with U+FFFD (data.invalid-utf8 = replace)").ConfigureAwait(false);
        }

        using var loggerFactory = CreateLoggerFactory(console, request);
        await console.Out.WriteLineAsync($"run directory: {runDirectory}").ConfigureAwait(false);
        await using var monitor = await MonitorSession.StartAsync(request, settings, runDirectory, corpus.Task == CorpusTask.Tagging ? "tagging" : "language-model", loggerFactory, console, cancellationToken).ConfigureAwait(false);
        var view = CreateView(console, request, settings, monitor?.Address);
        var services = new TrainerServices(TimeProvider.System, loggerFactory, MonitorSession.Observer(view, monitor));
        RunSummary summary;
        if (request.Cluster)
        {
            summary = await RunClusterAsync(new Parallel.Cluster.ClusterTrainer(settings, corpus, runDirectory, services, resumeFrom) { OnListening = Listening(console, settings), AkkaOverrides = ConfigLoader.LoadAkka(request.ConfigPath, request.Overrides), Monitor = monitor?.Monitor }, view, monitor, resumeFrom, console, cancellationToken).ConfigureAwait(false);
        }
        else if (settings.Parallel.Workers == 0)
        {
            using var trainer = new LanguageModelTrainer(settings, corpus, runDirectory, services, resumeFrom);
            summary = await view.RunAsync(() => MonitorSession.TrackAsync(monitor, () => trainer.RunAsync(cancellationToken))).ConfigureAwait(false);
        }
        else
        {
            await console.Out.WriteLineAsync($"data-parallel: {settings.Parallel.Workers} worker actors x {ParallelTrainer.ThreadsPerReplica(settings)} threads").ConfigureAwait(false);
            var trainer = new ParallelTrainer(settings, corpus, runDirectory, services, resumeFrom) { Monitor = monitor?.Monitor };
            summary = await view.RunAsync(() => MonitorSession.TrackAsync(monitor, () => trainer.RunAsync(cancellationToken))).ConfigureAwait(false);
        }

        await WriteSummaryAsync(console.Out, summary, corpus).ConfigureAwait(false);
        if (request.SampleLength > 0 && corpus.Task == CorpusTask.LanguageModel && summary.LastCheckpoint is { } last)
        {
            // From the final checkpoint: what a user gets back later with 'rnncluster sample'.
            using var trained = TrainedModel.Load(last);
            var ids = TextGenerator.Generate(trained.Model, trained.Vocabulary, string.Empty, new GenerationOptions { Length = request.SampleLength, Temperature = 0.8, Seed = unchecked((ulong)settings.Runtime.Seed) });
            await console.Out.WriteLineAsync("sample:").ConfigureAwait(false);
            await console.Out.WriteLineAsync(Tokenizer.Decode(ids.ToArray(), corpus.Vocabulary).Trim()).ConfigureAwait(false);
        }

        return summary.StoppedBy == "interrupted" ? CliApp.ExitInterrupted : CliApp.ExitOk;
    }

    /// <summary>An acceptor, transducer or encoder–decoder run: the same trainers, on a task data set.</summary>
    private static async Task<int> RunTaskAsync(TrainRequest request, RnnClusterSettings settings, TaskKind kind, string runDirectory, string? resumeFrom, CliConsole console, CancellationToken cancellationToken)
    {
        var data = TaskSetup.Load(settings.Data, kind);
        if (data.ReplacedBytes > 0)
        {
            await console.Error.WriteLineAsync($"warning: {data.ReplacedBytes} invalid UTF-8 bytes in {data.Source} were replaced with U+FFFD (data.invalid-utf8 = replace)").ConfigureAwait(false);
        }

        using var loggerFactory = CreateLoggerFactory(console, request);
        await console.Out.WriteLineAsync($"run directory: {runDirectory}").ConfigureAwait(false);
        await console.Out.WriteLineAsync($"task: {data.Kind.ToName()} on {data.Source}: {data.Train.Count:N0}/{data.Valid.Count:N0}/{data.Test.Count:N0} examples, {data.SourceVocabulary.Count:N0} source tokens, {data.OutputCount:N0} outputs").ConfigureAwait(false);
        await using var monitor = await MonitorSession.StartAsync(request, settings, runDirectory, data.Kind.ToName(), loggerFactory, console, cancellationToken).ConfigureAwait(false);
        var view = CreateView(console, request, settings, monitor?.Address);
        var services = new TrainerServices(TimeProvider.System, loggerFactory, MonitorSession.Observer(view, monitor));
        RunSummary summary;
        if (request.Cluster)
        {
            summary = await RunClusterAsync(new Parallel.Cluster.ClusterTrainer(settings, data, runDirectory, services, resumeFrom) { OnListening = Listening(console, settings), AkkaOverrides = ConfigLoader.LoadAkka(request.ConfigPath, request.Overrides), Monitor = monitor?.Monitor }, view, monitor, resumeFrom, console, cancellationToken).ConfigureAwait(false);
        }
        else if (settings.Parallel.Workers == 0)
        {
            using var trainer = new TaskTrainer(settings, data, runDirectory, services, resumeFrom);
            summary = await view.RunAsync(() => MonitorSession.TrackAsync(monitor, () => trainer.RunAsync(cancellationToken))).ConfigureAwait(false);
        }
        else
        {
            await console.Out.WriteLineAsync($"data-parallel: {settings.Parallel.Workers} worker actors x {ParallelTrainer.ThreadsPerReplica(settings)} threads").ConfigureAwait(false);
            var trainer = new ParallelTrainer(settings, data, runDirectory, services, resumeFrom) { Monitor = monitor?.Monitor };
            summary = await view.RunAsync(() => MonitorSession.TrackAsync(monitor, () => trainer.RunAsync(cancellationToken))).ConfigureAwait(false);
        }

        await console.Out.WriteLineAsync($"{StopReason(summary.StoppedBy)} after {summary.Steps} steps, {summary.Epochs} epochs, {summary.TokensTrained:N0} targets, {summary.WallSeconds:F1} s of training").ConfigureAwait(false);
        await console.Out.WriteLineAsync(TaskFigures.Line("valid", summary.ValidLoss, summary.ValidAccuracy, summary.ValidScores, kind)).ConfigureAwait(false);
        await console.Out.WriteLineAsync(TaskFigures.Line("test", summary.TestLoss, summary.TestAccuracy, summary.TestScores, kind)).ConfigureAwait(false);
        await console.Out.WriteLineAsync($"checkpoint: {summary.LastCheckpoint}" + (summary.BestCheckpoint is { } best && best != summary.LastCheckpoint ? $" (best: {best})" : string.Empty)).ConfigureAwait(false);
        foreach (var line in CheckpointFailures(summary))
        {
            await console.Out.WriteLineAsync(line).ConfigureAwait(false);
        }

        return summary.StoppedBy == "interrupted" ? CliApp.ExitInterrupted : CliApp.ExitOk;
    }

    private static ILoggerFactory CreateLoggerFactory(CliConsole console, TrainRequest request)
    {
        // A cluster's joins, downs and generations are what its operator watches: log them.
        var level = request.Cluster ? LogLevel.Information : LogLevel.Warning;
        return LoggerFactory.Create(b => b.AddProvider(new LineLoggerProvider(console.Error, level)).SetMinimumLevel(level));
    }

    private static ITrainingView CreateView(CliConsole console, TrainRequest request, RnnClusterSettings settings, Uri? dashboard) =>
        request.Plain ? new PlainTrainingView(console.Out, settings.Training.LogEverySteps, dashboard) : new LiveTrainingView(console.Out, dashboard);

    private static Action<Akka.Actor.Address> Listening(CliConsole console, RnnClusterSettings settings) =>
        address => console.Out.WriteLine(settings.Cluster.Seeds.Count == 0
            ? $"coordinator listening at {address}; waiting for {settings.Cluster.MinWorkers} worker(s): rnncluster-worker --seed {settings.Cluster.Host}:{address.Port}"
            : $"coordinator listening at {address}, joining through {string.Join(", ", settings.Cluster.Seeds)}: the oldest coordinator-eligible node trains, the others stand by and take over when it fails or leaves (workers should list every coordinator as --seed)");

    private static async Task<RunSummary> RunClusterAsync(Parallel.Cluster.ClusterTrainer trainer, ITrainingView view, MonitorSession? monitor, string? resumeFrom, CliConsole console, CancellationToken cancellationToken)
    {
        if (resumeFrom is not null)
        {
            await console.Out.WriteLineAsync($"resuming from {resumeFrom}").ConfigureAwait(false);
        }

        return await view.RunAsync(() => MonitorSession.TrackAsync(monitor, () => trainer.RunAsync(cancellationToken))).ConfigureAwait(false);
    }

    private static async Task WriteSummaryAsync(TextWriter output, RunSummary s, Corpus corpus)
    {
        var unit = corpus.Vocabulary.Tokenizer == TextTokenizer.Char ? "bits/char" : "bits/token";
        var lines = new List<string>
        {
            $"{StopReason(s.StoppedBy)} after {s.Steps} steps, {s.Epochs} epochs, {s.TokensTrained:N0} tokens, {s.WallSeconds:F1} s of training ({s.TokensPerSecond:N0} tokens/s this session)",
        };
        if (s.ValidLoss is { } vl)
        {
            lines.Add($"valid: loss {vl:F4}, perplexity {s.ValidPerplexity:F2}, {s.ValidBitsPerToken:F3} {unit}" + (corpus.Task == CorpusTask.Tagging ? $", accuracy {s.ValidAccuracy:P2}" : string.Empty));
        }

        if (s.TestLoss is { } tl)
        {
            lines.Add($"test:  loss {tl:F4}, perplexity {s.TestPerplexity:F2}, {s.TestBitsPerToken:F3} {unit}" + (corpus.Task == CorpusTask.Tagging ? $", accuracy {s.TestAccuracy:P2}" : string.Empty));
        }

        lines.Add($"checkpoint: {s.LastCheckpoint}" + (s.BestCheckpoint is { } b && b != s.LastCheckpoint ? $" (best: {b})" : string.Empty));
        lines.AddRange(CheckpointFailures(s));
        foreach (var line in lines)
        {
            await output.WriteLineAsync(line).ConfigureAwait(false);
        }
    }

    /// <summary>checkpoint.on-failure = continue: the summary never lets a failed checkpoint pass for a saved one.</summary>
    private static IEnumerable<string> CheckpointFailures(RunSummary s) => s.CheckpointFailures is { } failed
        ? [$"warning: {failed} checkpoint(s) could not be written this session (see checkpoint-failed in metrics.jsonl); the run's state is saved only up to {s.LastCheckpoint}"]
        : [];

    private static string StopReason(string stoppedBy) => stoppedBy switch
    {
        "epochs" => "finished all epochs",
        "max-steps" => "reached training.max-steps",
        "early-stop" => "stopped early (training.patience)",
        "interrupted" => "interrupted; checkpoint written, continue with --resume",
        _ => stoppedBy,
    };

    private static string DefaultRunDirectory() =>
        Path.GetFullPath(Path.Combine("runs", DateTime.UtcNow.ToString("yyyyMMdd-HHmmss", CultureInfo.InvariantCulture)));

    private static string HoconString(string value) =>
        "\"" + value.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal) + "\"";
}

/// <summary>The parsed <c>train</c> command line.</summary>
internal sealed record TrainRequest(string? ConfigPath, IReadOnlyList<string> Overrides, string? RunDirectory, string? Resume, int SampleLength, bool Plain, bool Cluster = false, bool Dashboard = false);
