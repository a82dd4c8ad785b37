using System.Diagnostics.Metrics;

namespace RnnCluster.Monitoring;

/// <summary>
/// Our <see cref="Meter"/> (<see cref="MeterName"/>): a run's figures as OpenTelemetry instruments, read from a
/// <see cref="RunMonitor"/> when a reader collects (observable gauges), so training pays nothing per step for
/// it. docs/monitoring.md lists each instrument with its unit and the name Prometheus shows.
/// </summary>
public sealed class RunMeter : IDisposable
{
    /// <summary>The meter's name, what a MeterProvider adds to export it.</summary>
    public const string MeterName = "RnnCluster";

    private static readonly string[] Phases = ["compute", "communication", "apply"];

    private readonly RunMonitor _monitor;
    private readonly Meter _meter;

    /// <param name="meterName">Another name keeps several monitors in one process apart (tests).</param>
    public RunMeter(RunMonitor monitor, string meterName = MeterName)
    {
        ArgumentNullException.ThrowIfNull(monitor);
        _monitor = monitor;
        _meter = new Meter(meterName, typeof(RunMeter).Assembly.GetName().Version?.ToString());
        _meter.CreateObservableGauge("rnncluster.step", () => Read().Step, "{step}", "optimizer steps taken");
        _meter.CreateObservableGauge("rnncluster.tokens_per_second", () => Finite(Read().Latest.TokensPerSecond), "{token}/s", "training tokens (targets) per second this session");
        _meter.CreateObservableGauge("rnncluster.loss", () => BySplit(f => f.Loss, f => f.ValidLoss), null, "mean cross-entropy per target in nats (split: train = the last step, valid = the last validation)");
        _meter.CreateObservableGauge("rnncluster.perplexity", () => BySplit(f => Math.Exp(f.Loss), f => f.ValidPerplexity), null, "exp(loss)");
        _meter.CreateObservableGauge("rnncluster.bits_per_token", () => BySplit(f => f.Loss / Math.Log(2), f => f.ValidBitsPerToken), null, "loss in bits (per character for a char-level corpus)");
        _meter.CreateObservableGauge("rnncluster.learning_rate", () => Finite(Read().Latest.LearningRate), null, "learning rate of the last step");
        _meter.CreateObservableGauge("rnncluster.gradient_norm", () => Finite(Read().Latest.GradientNorm), null, "global gradient norm of the last step, before clipping");
        _meter.CreateObservableGauge("rnncluster.step_time", StepTimes, "ms", "mean time per step of each phase (compute, communication, apply) over the last interval");
        _meter.CreateObservableGauge("rnncluster.worker.step_time", WorkerStepTimes, "ms", "each worker's mean step time over the last interval");
        _meter.CreateObservableGauge("rnncluster.generation", () => Read().Generation, "{generation}", "the run's generation (re-plans after members changed)");
        _meter.CreateObservableGauge("rnncluster.members", Members, "{member}", "members of the run by state");
        _meter.CreateObservableGauge("rnncluster.checkpoint.age", CheckpointAge, "s", "seconds since the last checkpoint was committed");
    }

    public string Name => _meter.Name;

    public void Dispose() => _meter.Dispose();

    private MeterFigures Read() => _monitor.ReadFigures();

    private static IEnumerable<Measurement<double>> Finite(double value) =>
        double.IsFinite(value) ? [new Measurement<double>(value)] : [];

    private IEnumerable<Measurement<double>> BySplit(Func<LatestFigures, double> train, Func<LatestFigures, double> valid)
    {
        var latest = Read().Latest;
        var result = new List<Measurement<double>>(2);
        if (double.IsFinite(train(latest)))
        {
            result.Add(new Measurement<double>(train(latest), new KeyValuePair<string, object?>("split", "train")));
        }

        if (double.IsFinite(valid(latest)))
        {
            result.Add(new Measurement<double>(valid(latest), new KeyValuePair<string, object?>("split", "valid")));
        }

        return result;
    }

    private IEnumerable<Measurement<double>> StepTimes()
    {
        if (Read().Split is not { } split)
        {
            return [];
        }

        double[] values = [split.ComputeMs, split.CommunicationMs, split.ApplyMs];
        return values.Select((v, i) => new Measurement<double>(v, new KeyValuePair<string, object?>("phase", Phases[i]))).ToArray();
    }

    private IEnumerable<Measurement<double>> WorkerStepTimes() =>
        Read().Members
            .Where(m => m.Role == MemberStates.Worker && m.StepMs is { } ms && double.IsFinite(ms))
            .Select(m => new Measurement<double>(m.StepMs!.Value, new KeyValuePair<string, object?>("worker", m.Address)))
            .ToArray();

    private IEnumerable<Measurement<int>> Members()
    {
        var members = Read().Members;
        // Every known state, zero included, so a dashboard's "lost" series drops back to 0 instead of vanishing.
        var states = MemberStates.All.Concat(members.Select(m => m.State)).Distinct();
        return states.Select(s => new Measurement<int>(members.Count(m => m.State == s), new KeyValuePair<string, object?>("state", s))).ToArray();
    }

    private IEnumerable<Measurement<double>> CheckpointAge()
    {
        if (Read().LastCheckpointUnix is not { } unix)
        {
            return [];
        }

        var now = _monitor.Time.GetUtcNow().ToUnixTimeMilliseconds() / 1000.0;
        return [new Measurement<double>(Math.Max(0, now - unix))];
    }
}
