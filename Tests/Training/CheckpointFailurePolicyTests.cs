using System.Text.Json;
using Microsoft.Extensions.Logging;
using RnnCluster.Config;
using RnnCluster.Data;
using RnnCluster.Model.Checkpoints;
using RnnCluster.Tests.Parallel;
using RnnCluster.Tests.Support;
using RnnCluster.Training;

namespace RnnCluster.Tests.Training;

/// <summary>
/// A checkpoint that cannot be written is reported when it fails and then follows
/// <c>checkpoint.on-failure</c>. The failure here is a real I/O error without root: a file already sits
/// where the step's directory must go, so the commit's rename fails (the mounts in CheckpointDiskTests
/// give the same with ENOSPC and a read-only file system).
/// </summary>
public sealed class CheckpointFailurePolicyTests
{
    private const int CheckpointFailed = 2090;
    private const int CoordinatorRestarting = 2105;
    private const int RunAborted = 2191;

    [Fact]
    public async Task Under_stop_a_failed_commit_is_reported_before_the_next_checkpoint_and_the_run_ends_naming_the_directory_and_the_last_good_one()
    {
        using var dir = new TempDirectory();
        var run = Blocked(dir, 10);
        var watch = new FailureWatch(failingStep: 10);
        var logs = new CapturingLoggerProvider();

        var e = await Assert.ThrowsAsync<TrainingAbortedException>(() => TrainAsync(Settings(0, "stop", 30), run, logs, watch));

        var checkpoints = Path.Combine(run, "checkpoints");
        Assert.StartsWith($"checkpoint of step 10 could not be written to {checkpoints}: could not write checkpoint {Path.Combine(checkpoints, "step-000000010")}: ", e.Message, StringComparison.Ordinal);
        Assert.EndsWith($"(checkpoint.on-failure = stop); the last good checkpoint is {Path.Combine(checkpoints, "step-000000005")}", e.Message, StringComparison.Ordinal);
        // Reported while the next step was being applied, not when the next checkpoint (step 15) drained it.
        Assert.True(watch.ReportedInTime, "the failure of step 10's checkpoint was not reported while step 11 was applied");
        Assert.Equal(1, logs.Entries.Count(l => l.EventId.Id == CheckpointFailed));
        var metrics = Metrics(run);
        var failed = Assert.Single(metrics, m => m.Kind == "checkpoint-failed");
        Assert.Equal(10, failed.Step);
        Assert.Contains("step-000000010", failed.Error, StringComparison.Ordinal);
        // The run stopped at the first step boundary after the failure was known: before step 11 or 12.
        Assert.InRange(metrics.Where(m => m.Kind == "train").Max(m => m.Step), 10, 11);
        Assert.Equal(5, CheckpointReader.Load(run).TrainerState.Step);
        Assert.Equal(["step-000000005", "step-000000010"], Directory.GetFileSystemEntries(checkpoints).Select(Path.GetFileName).Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task Under_continue_training_goes_on_the_next_checkpoint_is_retried_and_the_summary_counts_the_failure()
    {
        using var dir = new TempDirectory();
        var run = Blocked(dir, 10);

        var summary = await TrainAsync(Settings(0, "continue", 20), run, new CapturingLoggerProvider(), null);

        Assert.Equal(20, summary.Steps);
        Assert.Equal(1, summary.CheckpointFailures);
        Assert.Equal(Path.Combine(run, "checkpoints", "step-000000020"), summary.LastCheckpoint);
        Assert.Equal(1, JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(run, "summary.json"))).RootElement.GetProperty("checkpointFailures").GetInt32());
        Assert.Equal([10], Metrics(run).Where(m => m.Kind == "checkpoint-failed").Select(m => m.Step));
        Assert.Equal(15, CheckpointReader.Load(Path.Combine(run, "checkpoints", "step-000000015")).TrainerState.Step);
    }

    [Fact]
    public async Task Under_continue_a_failed_end_of_run_checkpoint_still_fails_the_run()
    {
        using var dir = new TempDirectory();
        var run = Blocked(dir, 20);

        var e = await Assert.ThrowsAsync<TrainingAbortedException>(() => TrainAsync(Settings(0, "continue", 20), run, new CapturingLoggerProvider(), null));

        Assert.StartsWith($"the end-of-run checkpoint of step 20 could not be written to {Path.Combine(run, "checkpoints")}", e.Message, StringComparison.Ordinal);
        Assert.EndsWith($"the last good checkpoint is {Path.Combine(run, "checkpoints", "step-000000015")}", e.Message, StringComparison.Ordinal);
        Assert.False(File.Exists(Path.Combine(run, "summary.json")), "a summary claims the run finished");
    }

    [Fact]
    public async Task In_the_data_parallel_trainer_a_failed_commit_under_stop_ends_the_run_and_never_restarts_the_coordinator()
    {
        using var dir = new TempDirectory();
        var run = Blocked(dir, 10);
        var logs = new CapturingLoggerProvider();

        var e = await Assert.ThrowsAsync<TrainingAbortedException>(() => ParallelRuns.RunAsync(Settings(2, "stop", 30), run, logs: logs));

        Assert.StartsWith($"checkpoint of step 10 could not be written to {Path.Combine(run, "checkpoints")}", e.Message, StringComparison.Ordinal);
        // A restart would resume from step 5 and train steps 6-10 again, failing the same way each time.
        Assert.Equal(0, logs.Entries.Count(l => l.EventId.Id == CoordinatorRestarting));
        Assert.Equal(1, logs.Entries.Count(l => l.EventId.Id == RunAborted));
        Assert.Equal(1, logs.Entries.Count(l => l.EventId.Id == CheckpointFailed));
        Assert.Equal(5, CheckpointReader.Load(run).TrainerState.Step);
    }

    [Fact]
    public async Task In_the_data_parallel_trainer_continue_trains_on_and_counts_the_failure()
    {
        using var dir = new TempDirectory();
        var run = Blocked(dir, 10);
        var logs = new CapturingLoggerProvider();

        var outcome = await ParallelRuns.RunAsync(Settings(2, "continue", 20), run, logs: logs);

        Assert.Equal(20, outcome.Summary.Steps);
        Assert.Equal(1, outcome.Summary.CheckpointFailures);
        Assert.Equal(0, logs.Entries.Count(l => l.EventId.Id == CoordinatorRestarting));
    }

    private static RnnClusterSettings Settings(int workers, string onFailure, int maxSteps) =>
        ParallelRuns.Settings(workers, "checkpoint.every-steps=5", $"checkpoint.on-failure={onFailure}", $"training.max-steps={maxSteps}", "training.log-every-steps=1");

    /// <summary>A run directory where the commit of <paramref name="step"/> fails: a plain file holds the name its directory needs.</summary>
    private static string Blocked(TempDirectory dir, int step) =>
        Path.GetDirectoryName(Path.GetDirectoryName(dir.Write(Path.Combine("run", "checkpoints", $"step-{step:D9}"), "not a checkpoint"))!)!;

    private static async Task<RunSummary> TrainAsync(RnnClusterSettings settings, string run, CapturingLoggerProvider logs, ITrainingObserver? observer)
    {
        var corpus = CorpusLoader.Load(settings.Data.Path, TrainingSetup.Corpus(settings.Data));
        using var factory = LoggerFactory.Create(b => b.AddProvider(logs).SetMinimumLevel(LogLevel.Information));
        using var trainer = new LanguageModelTrainer(settings, corpus, run, new TrainerServices(TimeProvider.System, factory, observer));
        return await trainer.RunAsync(CancellationToken.None);
    }

    private static List<(string Kind, long Step, string Error)> Metrics(string run) =>
        [.. File.ReadLines(Path.Combine(run, "metrics.jsonl")).Select(line =>
        {
            using var doc = JsonDocument.Parse(line);
            var root = doc.RootElement;
            return (root.GetProperty("kind").GetString()!, root.GetProperty("step").GetInt64(), root.TryGetProperty("error", out var error) ? error.GetString()! : string.Empty);
        })];

    /// <summary>
    /// Holds the first step after the failing checkpoint until its failure is reported (30 s at most: then it
    /// was not). The failure may also come before that step starts; then the run stops without it.
    /// </summary>
    private sealed class FailureWatch(long failingStep) : ITrainingObserver
    {
        private readonly TaskCompletionSource _failed = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public bool ReportedInTime { get; private set; } = true;

        public void OnStart(TrainingStart start)
        {
        }

        public void OnStep(StepReport step)
        {
            ArgumentNullException.ThrowIfNull(step);
            if (step.Step == failingStep + 1)
            {
                ReportedInTime = _failed.Task.Wait(TimeSpan.FromSeconds(30));
            }
        }

        public void OnEvaluation(EvaluationReport evaluation)
        {
        }

        public void OnCheckpoint(string directory, long step, bool isBest)
        {
        }

        public void OnCheckpointFailed(long step, string directory, string error) => _failed.TrySetResult();
    }
}
