namespace RnnCluster.Cluster;

/// <summary>
/// Suspicion level (phi) that a monitored node has failed, from the distribution of its heartbeat
/// intervals. Pure and clock-free: every call takes the caller's monotonic time in milliseconds.
/// Not thread-safe: one actor owns each detector.
/// </summary>
public sealed class PhiAccrualFailureDetector
{
    private readonly FailureDetectorOptions _options;
    private readonly HeartbeatHistory _history;
    private readonly double _acceptablePauseMs;
    private readonly double _minStdDeviationMs;
    private long? _lastHeartbeatMs;

    public PhiAccrualFailureDetector(FailureDetectorOptions? options = null)
    {
        _options = options ?? new FailureDetectorOptions();
        _options.Validate();
        _history = new HeartbeatHistory(_options.MaxSampleSize);
        _acceptablePauseMs = _options.AcceptableHeartbeatPause.TotalMilliseconds;
        _minStdDeviationMs = _options.MinStdDeviation.TotalMilliseconds;
    }

    public FailureDetectorOptions Options => _options;

    /// <summary>False until the first heartbeat; a node never heard from is not suspected.</summary>
    public bool IsMonitoring => _lastHeartbeatMs.HasValue;

    public int SampleCount => _history.Count;

    public double MeanIntervalMs => _history.Mean;

    /// <summary>The deviation phi uses: the measured one, but never below <see cref="FailureDetectorOptions.MinStdDeviation"/>.</summary>
    public double EffectiveStdDeviationMs => _history.Count == 0 ? double.NaN : Math.Max(_history.StdDeviation, _minStdDeviationMs);

    public void Heartbeat(long nowMs)
    {
        if (_lastHeartbeatMs is not { } last)
        {
            SeedHistory();
        }
        else
        {
            if (nowMs < last)
            {
                throw new ArgumentOutOfRangeException(nameof(nowMs), nowMs, $"Heartbeat time went backwards: last heartbeat at {last} ms. Pass a monotonic clock.");
            }

            // The first heartbeat after a suspected failure is not a sample: one long outage would
            // inflate the deviation and slow every later detection.
            if (IsAvailable(nowMs))
            {
                _history.Add(nowMs - last);
            }
        }

        _lastHeartbeatMs = nowMs;
    }

    public bool IsAvailable(long nowMs) => Phi(nowMs) < _options.Threshold;

    public double Phi(long nowMs)
    {
        if (_lastHeartbeatMs is not { } last)
        {
            return 0.0;
        }

        var mean = _history.Mean + _acceptablePauseMs;
        return Phi(nowMs - last, mean, EffectiveStdDeviationMs);
    }

    /// <summary>
    /// phi = -log10(1 - F(elapsed)) with F the normal CDF of N(mean, sd), after Hayashibara et al.,
    /// "The φ Accrual Failure Detector" (SRDS 2004). F is the logistic approximation
    /// 1 / (1 + exp(-y (1.5976 + 0.070566 y²))) that Akka uses (error below 1.4e-4): it needs no
    /// erf, and the two branches keep full precision in the tail where 1 - F underflows.
    /// </summary>
    public static double Phi(double elapsedMs, double meanMs, double stdDeviationMs)
    {
        var y = (elapsedMs - meanMs) / stdDeviationMs;
        var e = Math.Exp(-y * (1.5976 + (0.070566 * y * y)));
        return elapsedMs > meanMs
            ? -Math.Log10(e / (1.0 + e))
            : -Math.Log10(1.0 - (1.0 / (1.0 + e)));
    }

    // Two intervals around the estimate with a deliberately wide deviation (a quarter of it), as Akka
    // does, so that a node which sends exactly one heartbeat is still detected when it goes silent.
    private void SeedHistory()
    {
        var estimate = (long)_options.FirstHeartbeatEstimate.TotalMilliseconds;
        var deviation = estimate / 4;
        _history.Add(estimate - deviation);
        _history.Add(estimate + deviation);
    }
}
