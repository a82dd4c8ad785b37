using System.Text.Json;
using RnnCluster.Model.Checkpoints;
using RnnCluster.Tests.Parallel;
using RnnCluster.Tests.Support;
using RnnCluster.Training.Numerics;

namespace RnnCluster.Tests.Training.Numerics;

/// <summary>
/// The numerical policy in whole runs of the single-replica trainer (workers = 0) and the in-process
/// data-parallel one (workers = 2), which must decide the same. See <see cref="NumericsRuns"/> for the data.
/// </summary>
public sealed class NumericalPolicyTests
{
    private const int Skipped = 2002;
    private const int RolledBack = 2050;
    private const int NonFiniteValidation = 2052;
    private const int PlateauDecay = 2003;
    private const long TargetsPerWindow = 10 * NumericsRuns.Streams;

    [Theory]
    [InlineData(0)]
    [InlineData(2)]
    public async Task A_window_whose_loss_is_NaN_is_skipped_logged_with_its_rows_and_changes_no_parameter(int workers)
    {
        using var dir = new TempDirectory();
        // x is read by stream 1 at row 35: step 4's window, rows [30, 40).
        var run = await NumericsRuns.RunAsync(NumericsRuns.Settings(workers), NumericsRuns.Corpus([(1, 35)]), dir.Path, NumericsRuns.NaNEmbedding);

        Assert.Equal(10, run.Summary.Steps);
        Assert.Equal("epochs", run.Summary.StoppedBy);
        var skipped = Assert.Single(run.Lines("skipped"));
        Assert.Equal((4, "non-finite", 30, 40), (skipped.GetProperty("step").GetInt64(), skipped.GetProperty("reason").GetString(), skipped.GetProperty("fromCursor").GetInt64(), skipped.GetProperty("toCursor").GetInt64()));
        Assert.Equal("NaN", skipped.GetProperty("loss").GetString());
        var logged = Assert.Single(run.Events(Skipped));
        Assert.Contains("Step 4 skipped (non-finite): epoch 0, rows [30, 40) of streams 0-3", logged.Message, StringComparison.Ordinal);

        Assert.False(run.Steps.Reports[4].Applied);
        Assert.All(run.Steps.Reports.Where(r => r.Key != 4), r => Assert.True(r.Value.Applied));
        Assert.Equal(run.Steps.ParametersAfter[3], run.Steps.ParametersAfter[4]);
        Assert.NotEqual(run.Steps.ParametersAfter[4], run.Steps.ParametersAfter[5]);
        Assert.All(run.Steps.ParametersAfter[10].Where((_, i) => !IsPoisonRow(i)), p => Assert.True(float.IsFinite(p)));
        // The skipped window's targets were not trained on.
        Assert.Equal((NumericsRuns.Rows * NumericsRuns.Streams) - TargetsPerWindow, run.Summary.TokensTrained);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(2)]
    public async Task Bad_steps_in_a_row_roll_back_to_the_checkpoint_before_them_and_skip_their_windows_for_good(int workers)
    {
        using var dir = new TempDirectory();
        // x in stream 0 at rows 55, 65 and 75: steps 6, 7 and 8 are NaN; the third in a row rolls back to the
        // checkpoint of step 4 (cursor 40), and the windows [40, 80) are skipped.
        var settings = NumericsRuns.Settings(workers, "checkpoint.every-steps=2", "checkpoint.keep-last=5", "training.numerics.max-consecutive-skips=3");
        var run = await NumericsRuns.RunAsync(settings, NumericsRuns.Corpus([(0, 55), (0, 65), (0, 75)]), dir.Path, NumericsRuns.NaNEmbedding);

        Assert.Equal(10, run.Summary.Steps);
        Assert.Equal([6L, 7L, 8L], run.Lines("skipped").Select(l => l.GetProperty("step").GetInt64()));
        var rollback = Assert.Single(run.Lines("rollback"));
        Assert.Equal((8, 4, 40, 80), (rollback.GetProperty("step").GetInt64(), rollback.GetProperty("checkpointStep").GetInt64(), rollback.GetProperty("fromCursor").GetInt64(), rollback.GetProperty("toCursor").GetInt64()));
        Assert.Contains("step-000000004", Assert.Single(run.Events(RolledBack)).Message, StringComparison.Ordinal);
        // The streak wrote no checkpoint of its own (step 6 would have been one).
        Assert.False(Directory.Exists(dir.Combine("checkpoints", "step-000000006")));

        // Trained: windows [0, 40) before the checkpoint and [80, 100) after the rollback — never [40, 80).
        Assert.Equal(6 * TargetsPerWindow, run.Summary.TokensTrained);
        Assert.True(run.Steps.Reports[9].Applied && run.Steps.Reports[10].Applied);

        var expected = new SkippedRange(5, 8, 0, 40, 80, "non-finite");
        var final = CheckpointReader.Load(dir.Path).TrainerState;
        Assert.Equal(10, final.Step);
        Assert.Equal([expected], final.SkippedRanges);
        Assert.Equal(0, final.ConsecutiveSkips);
        // The checkpoint rolled back to is as it was written: no range yet.
        Assert.Null(CheckpointReader.Load(dir.Combine("checkpoints", "step-000000004")).TrainerState.SkippedRanges);
    }

    [Fact]
    public async Task A_rollback_whose_checkpoint_was_damaged_since_it_was_written_goes_back_to_the_newest_one_that_verifies_naming_the_file()
    {
        using var dir = new TempDirectory();
        // As above, but step 4's checkpoint is damaged on disk before the streak ends: the rollback at step 8
        // takes step 2's (cursor 20) instead, and the windows [20, 80) are skipped. Before, it threw and ended the run.
        var settings = NumericsRuns.Settings(0, "checkpoint.every-steps=2", "checkpoint.keep-last=5", "training.numerics.max-consecutive-skips=3");
        var model = dir.Combine("checkpoints", "step-000000004", "model.safetensors");
        var run = await NumericsRuns.RunAsync(settings, NumericsRuns.Corpus([(0, 55), (0, 65), (0, 75)]), dir.Path, NumericsRuns.NaNEmbedding, step =>
        {
            if (step != 7)
            {
                return;
            }

            // Checkpoints commit in the background: wait for step 4's marker, then flip a byte of its model.
            Conditions.AwaitAsync(() => CheckpointStore.FindLatest(dir.Path) is { } latest && latest.EndsWith("step-000000004", StringComparison.Ordinal), TimeSpan.FromSeconds(30), "step 4's checkpoint committed").GetAwaiter().GetResult();
            var bytes = File.ReadAllBytes(model);
            bytes[^5] ^= 0x10;
            File.WriteAllBytes(model, bytes);
        });

        Assert.Equal(10, run.Summary.Steps);
        var rollback = Assert.Single(run.Lines("rollback"));
        Assert.Equal((8, 2, 20, 80), (rollback.GetProperty("step").GetInt64(), rollback.GetProperty("checkpointStep").GetInt64(), rollback.GetProperty("fromCursor").GetInt64(), rollback.GetProperty("toCursor").GetInt64()));
        var damaged = Assert.Single(run.Events(2053));
        Assert.Contains(model, damaged.Message, StringComparison.Ordinal);
        Assert.Contains("step-000000002", Assert.Single(run.Events(RolledBack)).Message, StringComparison.Ordinal);
        // Trained: windows [0, 20) before step 2's checkpoint and [80, 100) after the rollback.
        Assert.Equal(4 * TargetsPerWindow, run.Summary.TokensTrained);
        Assert.Equal([new SkippedRange(3, 8, 0, 20, 80, "non-finite")], CheckpointReader.Load(dir.Path).TrainerState.SkippedRanges);
    }

    [Fact]
    public async Task In_process_workers_make_the_same_skip_and_rollback_decisions_as_one_replica_and_end_at_the_same_parameters()
    {
        using var dir = new TempDirectory();
        string[] extra = ["checkpoint.every-steps=2", "training.numerics.max-consecutive-skips=2"];
        var corpus = NumericsRuns.Corpus([(1, 15), (0, 55), (3, 65), (2, 95)]);
        var single = await NumericsRuns.RunAsync(NumericsRuns.Settings(0, extra), corpus, dir.Combine("single"), NumericsRuns.NaNEmbedding);
        var parallel = await NumericsRuns.RunAsync(NumericsRuns.Settings(2, extra), corpus, dir.Combine("parallel"), NumericsRuns.NaNEmbedding);

        Assert.Equal([2L, 6L, 7L, 10L], single.Lines("skipped").Select(l => l.GetProperty("step").GetInt64()));
        Assert.Equal(Decisions(single), Decisions(parallel));
        Assert.Equal(single.Summary.TokensTrained, parallel.Summary.TokensTrained);
        Assert.Equal(
            CheckpointReader.Load(dir.Combine("single")).TrainerState.SkippedRanges,
            CheckpointReader.Load(dir.Combine("parallel")).TrainerState.SkippedRanges);
        var relative = ParallelRuns.RelativeDifference(Finite(parallel.Steps.ParametersAfter[10]), Finite(single.Steps.ParametersAfter[10]));
        Assert.True(relative <= 1e-5, $"relative parameter difference {relative:E2}");
        // Only the run's first NaN (step 2) fails a worker: after that skip the commands ask for NaNs to be reported.
        Assert.Single(parallel.Events(2102));

        static string Decisions(NumericsOutcome run) => string.Join(" ", run.Metrics
            .Where(m => m.GetProperty("kind").GetString() is "skipped" or "rollback")
            .Select(m => $"{m.GetProperty("kind").GetString()}@{m.GetProperty("step").GetInt64()}[{m.GetProperty("fromCursor").GetInt64()},{m.GetProperty("toCursor").GetInt64()})"));
    }

    [Fact]
    public async Task A_loss_spike_over_the_running_median_is_skipped_and_changes_no_parameter()
    {
        using var dir = new TempDirectory();
        // Stream 2 must predict x at row 64 (step 7), which costs ~10^4 nats: a mean loss far over 3x the median.
        var settings = NumericsRuns.Settings(0, "training.numerics.spike-window=3");
        var run = await NumericsRuns.RunAsync(settings, NumericsRuns.Corpus([(2, 65)]), dir.Path, NumericsRuns.SpikingBias);

        Assert.Equal(10, run.Summary.Steps);
        var skipped = Assert.Single(run.Lines("skipped"));
        Assert.Equal((7, "spike", 60, 70), (skipped.GetProperty("step").GetInt64(), skipped.GetProperty("reason").GetString(), skipped.GetProperty("fromCursor").GetInt64(), skipped.GetProperty("toCursor").GetInt64()));
        Assert.True(skipped.GetProperty("loss").GetDouble() > 100);
        Assert.Equal(run.Steps.ParametersAfter[6], run.Steps.ParametersAfter[7]);
        Assert.Empty(run.Lines("rollback"));
    }

    [Fact]
    public async Task A_NaN_validation_loss_is_never_best_and_neither_decays_the_rate_nor_stops_the_run_early()
    {
        using var dir = new TempDirectory();
        // The validation split reads x, so every validation loss is NaN; training never does. Before, the first
        // NaN became the best and nothing compares below NaN: a plateau decay at step 4 and an early stop at 6.
        var settings = NumericsRuns.Settings(0, "training.eval-every-steps=2", "training.patience=2");
        var run = await NumericsRuns.RunAsync(settings, NumericsRuns.Corpus([], poisonValid: true), dir.Path, NumericsRuns.NaNEmbedding);

        Assert.Equal(("epochs", 10L), (run.Summary.StoppedBy, run.Summary.Steps));
        var valid = run.Lines("valid");
        // Every second step, and at the epoch's end (step 10 again).
        Assert.Equal([2L, 4L, 6L, 8L, 10L, 10L], valid.Select(v => v.GetProperty("step").GetInt64()));
        Assert.All(valid, v => Assert.Equal("NaN", v.GetProperty("loss").GetString()));
        Assert.Equal(6, run.Events(NonFiniteValidation).Length);
        Assert.Empty(run.Events(PlateauDecay));
        Assert.All(run.Steps.Reports.Values, r => Assert.Equal(1.0, r.LearningRate));
        var state = CheckpointReader.Load(dir.Path).TrainerState;
        Assert.Null(state.BestValidLoss);
        Assert.Equal((0, 1.0), (state.EvaluationsWithoutImprovement, state.PlateauLearningRate));
    }

    // The poisoned embedding row stays NaN (no step that reads it is ever applied); everything else must be finite.
    private static bool IsPoisonRow(int index) => index >= NumericsRuns.Poison * 16 && index < (NumericsRuns.Poison + 1) * 16;

    private static float[] Finite(float[] parameters) => [.. parameters.Where(float.IsFinite)];
}
