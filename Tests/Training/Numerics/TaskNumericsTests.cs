using System.Text.Json;
using Microsoft.Extensions.Logging;
using RnnCluster.Model.Checkpoints;
using RnnCluster.Tests.Support;
using RnnCluster.Tests.Training.Tasks;
using RnnCluster.Torch;
using RnnCluster.Training;
using RnnCluster.Training.Numerics;
using RnnCluster.Training.Tasks;

namespace RnnCluster.Tests.Training.Numerics;

/// <summary>The numerical policy in the task trainer: the same guard and rollback as the language model's.</summary>
public sealed class TaskNumericsTests
{
    [Fact]
    public async Task A_task_run_whose_parameters_blow_up_skips_then_rolls_back_to_its_checkpoint_and_trains_on()
    {
        using var dir = new TempDirectory();
        var settings = TaskRuns.Settings("builtin:agreement-number", 0, "training.max-steps=14", "checkpoint.every-steps=4", "training.numerics.max-consecutive-skips=3", "training.log-every-steps=1");
        var data = TaskSetup.Load(settings.Data, TaskSetup.ResolveKind(settings.Data));
        var logs = new CapturingLoggerProvider();
        using var loggerFactory = LoggerFactory.Create(b => b.AddProvider(logs).SetMinimumLevel(LogLevel.Information));
        // Right after step 6 every parameter becomes NaN (a blow-up): steps 7, 8 and 9 are NaN, and the third
        // rolls back to the checkpoint of step 4, whose parameters are finite; steps 10-14 train from them.
        var blowUp = new BlowUpAfter(6);
        using (var trainer = new TaskTrainer(settings, data, dir.Path, new TrainerServices(TimeProvider.System, loggerFactory, blowUp)))
        {
            blowUp.Master = trainer.Model;
            var summary = await trainer.RunAsync(CancellationToken.None);
            Assert.Equal(14, summary.Steps);
        }

        var metrics = (await File.ReadAllLinesAsync(dir.Combine("metrics.jsonl"))).Select(l => JsonDocument.Parse(l).RootElement).ToArray();
        Assert.Equal([7L, 8L, 9L], metrics.Where(m => m.GetProperty("kind").GetString() == "skipped").Select(m => m.GetProperty("step").GetInt64()));
        Assert.All(blowUp.Applied.Where(a => a.Key > 9), a => Assert.True(a.Value, $"step {a.Key}"));
        var final = CheckpointReader.Load(dir.Path);
        // Batches 4..8 of the epoch's order (steps 5-9) are skipped; the parameters are finite again.
        Assert.Equal([new SkippedRange(5, 9, 0, 4, 9, "non-finite")], final.TrainerState.SkippedRanges);
        Assert.All(final.ModelTensors.SelectMany(t => t.ToFloats()), p => Assert.True(float.IsFinite(p)));
    }

    private sealed class BlowUpAfter(long step) : ITrainingObserver
    {
        public TorchModel? Master { get; set; }

        public Dictionary<long, bool> Applied { get; } = [];

        public void OnStart(TrainingStart start)
        {
        }

        public void OnStep(StepReport report)
        {
            ArgumentNullException.ThrowIfNull(report);
            Applied[report.Step] = report.Applied;
            if (report.Step == step)
            {
                Master!.ParameterSpan.Fill(float.NaN);
            }
        }

        public void OnEvaluation(EvaluationReport evaluation)
        {
        }

        public void OnCheckpoint(string directory, long step, bool isBest)
        {
        }
    }
}
