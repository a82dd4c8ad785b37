using Microsoft.Extensions.Logging.Abstractions;
using RnnCluster.Config;
using RnnCluster.Data;
using RnnCluster.Model.Checkpoints;
using RnnCluster.Tests.Cli;
using RnnCluster.Tests.Support;
using RnnCluster.Training;

namespace RnnCluster.Tests.Training;

public sealed class DeterminismAndResumeTests
{
    // Everything that carries state across steps is switched on: dropout masks (model generator),
    // randomised window lengths (data generator), Adam moments, per-stream hidden state.
    private static readonly string[] StatefulRun =
    [
        .. CliRunner.TinyModel,
        "--set", "model.dropout.embedding=0.2", "--set", "model.dropout.output=0.3",
        "--set", "data.random-bptt=true", "--set", "training.optimizer=adam", "--set", "training.learning-rate=0.01",
        "--set", "training.schedule=plateau", "--set", "training.eval-every-steps=4",
    ];

    [Fact]
    public async Task The_same_seed_gives_the_same_loss_at_every_step_and_another_seed_does_not()
    {
        using var dir = new TempDirectory();
        var a = await CliRunner.RunAsync(["train", "--run-dir", dir.Combine("a"), "--max-steps", "10", .. StatefulRun]);
        var b = await CliRunner.RunAsync(["train", "--run-dir", dir.Combine("b"), "--max-steps", "10", .. StatefulRun]);
        var c = await CliRunner.RunAsync(["train", "--run-dir", dir.Combine("c"), "--max-steps", "10", "--set", "runtime.seed=99", .. StatefulRun]);
        Assert.True(a.ExitCode == 0, a.ToString());
        Assert.True(b.ExitCode == 0, b.ToString());
        Assert.True(c.ExitCode == 0, c.ToString());

        var la = CliRunner.TrainLosses(dir.Combine("a"));
        Assert.Equal(10, la.Count);
        Assert.Equal(la, CliRunner.TrainLosses(dir.Combine("b")));
        Assert.NotEqual(la, CliRunner.TrainLosses(dir.Combine("c")));
    }

    [Fact]
    public async Task A_run_stopped_at_step_k_and_resumed_repeats_the_uninterrupted_run_at_every_later_step()
    {
        using var dir = new TempDirectory();
        var whole = await CliRunner.RunAsync(["train", "--run-dir", dir.Combine("whole"), "--max-steps", "14", .. StatefulRun]);
        Assert.True(whole.ExitCode == 0, whole.ToString());

        var first = await CliRunner.RunAsync(["train", "--run-dir", dir.Combine("split"), "--max-steps", "6", .. StatefulRun]);
        Assert.True(first.ExitCode == 0, first.ToString());
        var second = await CliRunner.RunAsync(["train", "--resume", dir.Combine("split"), "--max-steps", "14", .. StatefulRun]);
        Assert.True(second.ExitCode == 0, second.ToString());
        Assert.Contains("resuming after step 6", second.Output, StringComparison.Ordinal);

        var expected = CliRunner.TrainLosses(dir.Combine("whole"));
        var resumed = CliRunner.TrainLosses(dir.Combine("split"));
        Assert.Equal(14, expected.Count);
        Assert.Equal(expected, resumed);
    }

    [Fact]
    public async Task A_run_resumed_at_its_max_steps_trains_no_step_and_reports_the_runs_last_train_loss()
    {
        using var dir = new TempDirectory();
        var run = dir.Combine("run");
        var first = await CliRunner.RunAsync(["train", "--run-dir", run, "--max-steps", "6", .. StatefulRun]);
        Assert.True(first.ExitCode == 0, first.ToString());
        var trained = SummaryTrainLoss(run);
        Assert.True(double.IsFinite(trained), $"the first run's summary.json has trainLoss {trained}");

        // Resumed at its max-steps already: the session used to train step 7 before it checked the limit,
        // and a session that trains nothing used to report a train loss of "NaN".
        var again = await CliRunner.RunAsync(["train", "--resume", run, "--max-steps", "6", .. StatefulRun]);
        Assert.True(again.ExitCode == 0, again.ToString());
        Assert.Contains("resuming after step 6", again.Output, StringComparison.Ordinal);
        Assert.Contains("reached training.max-steps after 6 steps", again.Output, StringComparison.Ordinal);
        Assert.Equal(6, CliRunner.TrainLosses(run).Count);
        Assert.Equal(trained, SummaryTrainLoss(run));
    }

    private static double SummaryTrainLoss(string run)
    {
        using var summary = System.Text.Json.JsonDocument.Parse(File.ReadAllText(Path.Combine(run, "summary.json")));
        var loss = summary.RootElement.GetProperty("trainLoss");
        return loss.ValueKind == System.Text.Json.JsonValueKind.Number ? loss.GetDouble() : double.Parse(loss.GetString()!, System.Globalization.CultureInfo.InvariantCulture);
    }

    [Fact]
    public async Task Cancelling_a_run_checkpoints_the_current_step_and_the_resume_continues_exactly()
    {
        using var dir = new TempDirectory();
        var settings = ConfigLoader.Load(null, ["model.layers=1", "model.hidden-size=16", "model.embedding-size=16", "data.builtin.sentences=300", "data.bptt=10", "data.batch-size=8", "runtime.threads=1", "training.max-steps=12", "training.optimizer=adam", "training.learning-rate=0.01"]);
        var corpus = CorpusLoader.Load(settings.Data.Path, TrainingSetup.Corpus(settings.Data));

        using var reference = new LossRecorder(cancelAfter: null);
        using (var trainer = new LanguageModelTrainer(settings, corpus, dir.Combine("reference"), new TrainerServices(TimeProvider.System, NullLoggerFactory.Instance, reference)))
        {
            await trainer.RunAsync(CancellationToken.None);
        }

        using var interrupted = new LossRecorder(cancelAfter: 5);
        RunSummary stopped;
        using (var trainer = new LanguageModelTrainer(settings, corpus, dir.Combine("run"), new TrainerServices(TimeProvider.System, NullLoggerFactory.Instance, interrupted)))
        {
            stopped = await trainer.RunAsync(interrupted.Token);
        }

        Assert.Equal("interrupted", stopped.StoppedBy);
        Assert.Equal(5, stopped.Steps);
        Assert.Equal(5, CheckpointReader.Load(dir.Combine("run")).TrainerState.Step);

        using var resumed = new LossRecorder(cancelAfter: null);
        using (var trainer = new LanguageModelTrainer(settings, corpus, dir.Combine("run"), new TrainerServices(TimeProvider.System, NullLoggerFactory.Instance, resumed), resumeFrom: dir.Combine("run")))
        {
            await trainer.RunAsync(CancellationToken.None);
        }

        Assert.Equal(reference.Losses.Take(5), interrupted.Losses);
        Assert.Equal(reference.Losses.Skip(5), resumed.Losses);
    }

    [Fact]
    public async Task A_stop_requested_during_an_epochs_last_step_finishes_the_epoch_end_and_the_resume_continues_exactly()
    {
        // Found in a cluster: SIGTERM during the last step of an epoch reached the epoch end's validation, which
        // threw on the cancelled token; the coordinator was restarted from an older checkpoint and the steps
        // trained since were lost. A plateau schedule makes that validation matter to every later step.
        using var dir = new TempDirectory();
        var settings = ConfigLoader.Load(null, ["model.layers=1", "model.hidden-size=16", "model.embedding-size=16", "data.builtin.sentences=300", "data.bptt=10", "data.batch-size=8", "runtime.threads=1", "training.epochs=3", "training.optimizer=adam", "training.learning-rate=0.01", "training.schedule=plateau"]);
        var corpus = CorpusLoader.Load(settings.Data.Path, TrainingSetup.Corpus(settings.Data));

        using var reference = new LossRecorder(cancelAfter: null);
        using (var trainer = new LanguageModelTrainer(settings, corpus, dir.Combine("reference"), new TrainerServices(TimeProvider.System, NullLoggerFactory.Instance, reference)))
        {
            await trainer.RunAsync(CancellationToken.None);
        }

        var epochEnd = reference.Validations[0].Step;
        using var interrupted = new LossRecorder(cancelAfter: epochEnd);
        RunSummary stopped;
        using (var trainer = new LanguageModelTrainer(settings, corpus, dir.Combine("run"), new TrainerServices(TimeProvider.System, NullLoggerFactory.Instance, interrupted)))
        {
            stopped = await trainer.RunAsync(interrupted.Token);
        }

        Assert.Equal("interrupted", stopped.StoppedBy);
        Assert.Equal(epochEnd, stopped.Steps);
        // The epoch end ran as in the reference: its validation and its checkpoint.
        Assert.Equal(reference.Validations[0], interrupted.Validations.Single());
        Assert.Equal(epochEnd, CheckpointReader.Load(dir.Combine("run")).TrainerState.Step);

        using var resumed = new LossRecorder(cancelAfter: null);
        using (var trainer = new LanguageModelTrainer(settings, corpus, dir.Combine("run"), new TrainerServices(TimeProvider.System, NullLoggerFactory.Instance, resumed), resumeFrom: dir.Combine("run")))
        {
            await trainer.RunAsync(CancellationToken.None);
        }

        Assert.Equal(reference.Losses, interrupted.Losses.Concat(resumed.Losses));
        Assert.Equal(reference.Validations, interrupted.Validations.Concat(resumed.Validations));
    }

    private sealed class LossRecorder(long? cancelAfter) : ITrainingObserver, IDisposable
    {
        private readonly CancellationTokenSource _cancel = new();

        public List<double> Losses { get; } = [];

        /// <summary>Each validation as (step, loss).</summary>
        public List<(long Step, double Loss)> Validations { get; } = [];

        public CancellationToken Token => _cancel.Token;

        public void OnStart(TrainingStart start)
        {
        }

        public void OnStep(StepReport step)
        {
            Losses.Add(step.Loss);
            if (cancelAfter is { } n && step.Step == n)
            {
                _cancel.Cancel(); // as Ctrl-C would, between steps
            }
        }

        public void OnEvaluation(EvaluationReport evaluation)
        {
            if (evaluation.Split == "valid")
            {
                Validations.Add((evaluation.Step, evaluation.Result.Loss));
            }
        }

        public void OnCheckpoint(string directory, long step, bool isBest)
        {
        }

        public void Dispose() => _cancel.Dispose();
    }

    [Fact]
    public async Task A_checkpoint_interval_that_lands_on_an_epoch_end_writes_that_step_once()
    {
        // every-steps = 1 lands on every epoch end, where the epoch end checkpoints the same step again
        // (validated); writing it twice used to fail the run at the next checkpoint.
        using var dir = new TempDirectory();
        var settings = Parallel.ParallelRuns.Settings(0, "training.max-steps=0", "training.epochs=2", "checkpoint.every-steps=1");
        var run = await Parallel.ParallelRuns.RunAsync(settings, dir.Combine("run"));
        Assert.Equal("epochs", run.Summary.StoppedBy);
        Assert.Equal(2, run.Summary.Epochs);
    }

    [Fact]
    public async Task A_run_stopped_by_max_steps_at_an_epoch_end_counts_that_epoch()
    {
        using var dir = new TempDirectory();
        var oneEpoch = await Parallel.ParallelRuns.RunAsync(Parallel.ParallelRuns.Settings(0, "training.max-steps=0", "training.epochs=1"), dir.Combine("one-epoch"));
        var stepsPerEpoch = oneEpoch.Summary.Steps;

        var settings = Parallel.ParallelRuns.Settings(0, $"training.max-steps={stepsPerEpoch}", "training.epochs=3");
        var run = await Parallel.ParallelRuns.RunAsync(settings, dir.Combine("run"));
        Assert.Equal("max-steps", run.Summary.StoppedBy);
        Assert.Equal(1, run.Summary.Epochs);

        var shorter = await Parallel.ParallelRuns.RunAsync(Parallel.ParallelRuns.Settings(0, $"training.max-steps={stepsPerEpoch - 1}", "training.epochs=3"), dir.Combine("shorter"));
        Assert.Equal(0, shorter.Summary.Epochs);
    }
}
