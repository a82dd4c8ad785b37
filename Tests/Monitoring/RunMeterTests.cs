using OpenTelemetry;
using OpenTelemetry.Metrics;
using RnnCluster.Monitoring;
using RnnCluster.Tests.Support;

namespace RnnCluster.Tests.Monitoring;

public sealed class RunMeterTests
{
    [Fact]
    public void Every_instrument_reports_the_scripted_runs_figures()
    {
        var time = new ManualTimeProvider();
        var monitor = ScriptedRun.Monitor(time);
        var name = $"RnnCluster.Test.{Guid.NewGuid():N}";
        using var meter = new RunMeter(monitor, name);
        var exported = new List<MetricSnapshot>();
        using var provider = Sdk.CreateMeterProviderBuilder().AddMeter(name).AddInMemoryExporter(exported).Build();

        monitor.OnStart(ScriptedRun.Start());
        monitor.MembersChanged(
        [
            new MemberStatus(0, MemberStates.Coordinator, "akka.tcp://rnncluster@127.0.0.1:4053", MemberStates.Up, 1, null, null),
            ScriptedRun.Worker(1, MemberStates.Up),
            ScriptedRun.Worker(2, MemberStates.Up),
        ]);
        for (var step = 1; step <= 20; step++)
        {
            monitor.OnStep(ScriptedRun.Step(step));
        }

        monitor.OnEvaluation(ScriptedRun.Valid(20, 2.0));
        monitor.OnCheckpoint("/runs/test/checkpoints/step-000020", 20, isBest: true);
        monitor.GenerationStarted(3, "worker lost");
        monitor.MemberChanged(ScriptedRun.Worker(2, MemberStates.Lost));
        monitor.StepTimes(new StepSplit(40, 6, 2.5), new Dictionary<int, double> { [1] = 41, [2] = 44 });
        time.Advance(TimeSpan.FromSeconds(90));

        Assert.True(provider.ForceFlush());
        var metrics = exported.ToDictionary(m => m.Name);

        Assert.Equal(20, Single(metrics["rnncluster.step"]).GetGaugeLastValueLong());
        Assert.Equal(20_000, Single(metrics["rnncluster.tokens_per_second"]).GetGaugeLastValueDouble());
        Assert.Equal(0.5, Single(metrics["rnncluster.learning_rate"]).GetGaugeLastValueDouble());
        Assert.Equal(2.0, Single(metrics["rnncluster.gradient_norm"]).GetGaugeLastValueDouble());
        Assert.Equal(new Dictionary<string, double> { ["train"] = 0.5, ["valid"] = 2.0 }, ByTag(metrics["rnncluster.loss"], "split"));
        Assert.Equal(new Dictionary<string, double> { ["train"] = Math.Exp(0.5), ["valid"] = Math.Exp(2.0) }, ByTag(metrics["rnncluster.perplexity"], "split"));
        Assert.Equal(new Dictionary<string, double> { ["train"] = 0.5 / Math.Log(2), ["valid"] = 2.0 / Math.Log(2) }, ByTag(metrics["rnncluster.bits_per_token"], "split"));
        Assert.Equal(new Dictionary<string, double> { ["compute"] = 40, ["communication"] = 6, ["apply"] = 2.5 }, ByTag(metrics["rnncluster.step_time"], "phase"));
        Assert.Equal("ms", metrics["rnncluster.step_time"].Unit);
        Assert.Equal(new Dictionary<string, double> { ["local/worker-1"] = 41, ["local/worker-2"] = 44 }, ByTag(metrics["rnncluster.worker.step_time"], "worker"));
        Assert.Equal(3, Single(metrics["rnncluster.generation"]).GetGaugeLastValueLong());
        Assert.Equal(
            new Dictionary<string, double> { ["up"] = 2, ["joining"] = 0, ["unreachable"] = 0, ["lost"] = 1, ["left"] = 0 },
            ByTag(metrics["rnncluster.members"], "state"));
        Assert.Equal(90, Single(metrics["rnncluster.checkpoint.age"]).GetGaugeLastValueDouble());
        Assert.Equal("s", metrics["rnncluster.checkpoint.age"].Unit);
    }

    [Fact]
    public void Figures_not_reported_yet_have_no_sample()
    {
        var monitor = ScriptedRun.Monitor(new ManualTimeProvider());
        var name = $"RnnCluster.Test.{Guid.NewGuid():N}";
        using var meter = new RunMeter(monitor, name);
        var exported = new List<MetricSnapshot>();
        using var provider = Sdk.CreateMeterProviderBuilder().AddMeter(name).AddInMemoryExporter(exported).Build();
        monitor.OnStart(ScriptedRun.Start());
        monitor.OnStep(ScriptedRun.Step(1));

        Assert.True(provider.ForceFlush());
        var metrics = exported.ToDictionary(m => m.Name);
        Assert.Equal(["train"], ByTag(metrics["rnncluster.loss"], "split").Keys);
        foreach (var silent in new[] { "rnncluster.step_time", "rnncluster.worker.step_time", "rnncluster.checkpoint.age" })
        {
            Assert.True(!metrics.TryGetValue(silent, out var m) || m.MetricPoints.Count == 0, silent);
        }
    }

    private static MetricPoint Single(MetricSnapshot metric) => Assert.Single(metric.MetricPoints);

    private static Dictionary<string, double> ByTag(MetricSnapshot metric, string tag)
    {
        var values = new Dictionary<string, double>();
        foreach (var point in metric.MetricPoints)
        {
            string? key = null;
            foreach (var t in point.Tags)
            {
                if (t.Key == tag)
                {
                    key = t.Value?.ToString();
                }
            }

            Assert.NotNull(key);
            values[key] = metric.MetricType == MetricType.LongGauge ? point.GetGaugeLastValueLong() : point.GetGaugeLastValueDouble();
        }

        return values;
    }
}
