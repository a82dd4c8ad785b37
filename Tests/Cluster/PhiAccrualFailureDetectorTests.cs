using RnnCluster.Cluster;

namespace RnnCluster.Tests.Cluster;

public sealed class PhiAccrualFailureDetectorTests
{
    // Default settings, heartbeats every second for 20 s: with 19 measured intervals of 1000 ms the
    // measured deviation (sqrt(125000 / 21) = 77 ms) is below the 100 ms floor, so phi uses
    // N(1000 + 3000, 100). Phi first reaches 8 at 4000 + 5.226 * 100 ms after the last heartbeat.
    private const long DefaultDetectionMs = 4523;

    private static PhiAccrualFailureDetector RegularHeartbeats(int count, long intervalMs = 1000, FailureDetectorOptions? options = null)
    {
        var detector = new PhiAccrualFailureDetector(options);
        for (var i = 0; i < count; i++)
        {
            detector.Heartbeat(i * intervalMs);
        }

        return detector;
    }

    private static long FirstUnavailableAfter(PhiAccrualFailureDetector detector, long lastHeartbeatMs)
    {
        for (var elapsed = 0L; elapsed < 60_000; elapsed++)
        {
            if (!detector.IsAvailable(lastHeartbeatMs + elapsed))
            {
                return elapsed;
            }
        }

        throw new InvalidOperationException("still available after 60 s");
    }

    [Fact]
    public void Phi_is_zero_and_the_node_available_before_any_heartbeat()
    {
        var detector = new PhiAccrualFailureDetector();

        Assert.False(detector.IsMonitoring);
        Assert.Equal(0.0, detector.Phi(1_000_000));
        Assert.True(detector.IsAvailable(1_000_000));
    }

    [Fact]
    public void Phi_is_near_zero_right_after_a_heartbeat()
    {
        var detector = RegularHeartbeats(20);

        Assert.Equal(0.0, detector.Phi(19_000), 12);
        Assert.Equal(0.0, detector.Phi(19_100), 12);
    }

    [Fact]
    public void Phi_rises_with_the_time_since_the_last_heartbeat()
    {
        var detector = RegularHeartbeats(20);
        var last = 19_000L;

        var phis = new[] { 3500, 4000, 4200, 4400, 4600, 5000 }.Select(d => detector.Phi(last + d)).ToArray();

        for (var i = 1; i < phis.Length; i++)
        {
            Assert.True(phis[i] > phis[i - 1], $"phi[{i}] = {phis[i]} is not above phi[{i - 1}] = {phis[i - 1]}");
        }

        // At mean + pause the CDF is one half: phi = log10(2).
        Assert.Equal(Math.Log10(2), phis[1], 6);
    }

    [Fact]
    public void Phi_of_the_logistic_approximation_matches_known_values()
    {
        Assert.Equal(Math.Log10(2), PhiAccrualFailureDetector.Phi(4000, 4000, 100), 12);
        Assert.Equal(7.299947, PhiAccrualFailureDetector.Phi(4500, 4000, 100), 5);
        Assert.Equal(8.012870, PhiAccrualFailureDetector.Phi(4523, 4000, 100), 5);
        Assert.Equal(2.17689e-8, PhiAccrualFailureDetector.Phi(3500, 4000, 100), 12);
    }

    [Fact]
    public void Regular_heartbeats_stay_available_within_the_acceptable_pause()
    {
        var detector = RegularHeartbeats(20);

        Assert.True(detector.IsAvailable(19_000 + 3_500));
        Assert.True(detector.IsAvailable(19_000 + 4_000));
        Assert.True(detector.IsAvailable(19_000 + 4_500));
    }

    [Fact]
    public void Regular_heartbeats_become_unavailable_4523_ms_after_the_last_one_with_default_settings()
    {
        var detector = RegularHeartbeats(20);

        var detection = FirstUnavailableAfter(detector, 19_000);

        Assert.InRange(detection, DefaultDetectionMs - 50, DefaultDetectionMs + 50);
        Assert.Equal(DefaultDetectionMs, detection);
        Assert.True(detector.Phi(19_000 + detection - 1) < 8.0);
        Assert.True(detector.Phi(19_000 + detection) >= 8.0);
    }

    [Fact]
    public void Min_std_deviation_applies_to_perfectly_regular_heartbeats()
    {
        var detector = RegularHeartbeats(1001);

        // 1000 samples of exactly 1000 ms (the seeds have been evicted): the measured deviation is 0.
        Assert.Equal(1000.0, detector.MeanIntervalMs, 9);
        Assert.Equal(100.0, detector.EffectiveStdDeviationMs, 9);
        Assert.Equal(DefaultDetectionMs, FirstUnavailableAfter(detector, 1_000_000));
    }

    [Fact]
    public void A_larger_min_std_deviation_delays_detection()
    {
        var options = new FailureDetectorOptions { MinStdDeviation = TimeSpan.FromMilliseconds(200) };
        var detector = RegularHeartbeats(20, options: options);

        Assert.Equal(200.0, detector.EffectiveStdDeviationMs, 9);
        Assert.Equal(5046, FirstUnavailableAfter(detector, 19_000));
    }

    [Fact]
    public void The_first_heartbeat_estimate_is_used_after_one_heartbeat()
    {
        var detector = new PhiAccrualFailureDetector();

        detector.Heartbeat(0);

        // Seeded with 750 and 1250 ms: mean 1000, deviation 250.
        Assert.Equal(2, detector.SampleCount);
        Assert.Equal(1000.0, detector.MeanIntervalMs, 9);
        Assert.Equal(250.0, detector.EffectiveStdDeviationMs, 9);
        Assert.True(detector.IsAvailable(4_000));
        Assert.Equal(5307, FirstUnavailableAfter(detector, 0));
    }

    [Fact]
    public void History_is_bounded_at_the_max_sample_size()
    {
        var options = new FailureDetectorOptions { MaxSampleSize = 3 };
        var detector = new PhiAccrualFailureDetector(options);

        detector.Heartbeat(0);
        detector.Heartbeat(1000);
        detector.Heartbeat(3000);
        detector.Heartbeat(6000);

        // 750 and 1250 (seeds) then 1000, 2000, 3000: only the last three remain.
        Assert.Equal(3, detector.SampleCount);
        Assert.Equal(2000.0, detector.MeanIntervalMs, 9);
    }

    [Fact]
    public void The_heartbeat_after_a_suspected_failure_is_not_a_sample()
    {
        var detector = RegularHeartbeats(20);

        detector.Heartbeat(19_000 + 30_000);

        Assert.Equal(21, detector.SampleCount);
        Assert.Equal(1000.0, detector.MeanIntervalMs, 9);
        Assert.True(detector.IsAvailable(49_000 + 1_000));
    }

    [Fact]
    public void A_heartbeat_earlier_than_the_last_one_is_refused()
    {
        var detector = RegularHeartbeats(3);

        var error = Assert.Throws<ArgumentOutOfRangeException>(() => detector.Heartbeat(1_500));

        Assert.Contains("went backwards", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Irregular_heartbeats_widen_the_distribution()
    {
        var detector = new PhiAccrualFailureDetector();
        long[] times = [0, 1000, 1500, 3000, 3400, 5000, 5600, 7000];
        foreach (var t in times)
        {
            detector.Heartbeat(t);
        }

        // Intervals 750 1250 1000 500 1500 400 1600 600 1400: mean 1000, deviation 430.
        Assert.Equal(1000.0, detector.MeanIntervalMs, 9);
        Assert.Equal(Math.Sqrt(1_665_000.0 / 9), detector.EffectiveStdDeviationMs, 9);
        Assert.True(detector.IsAvailable(7_000 + DefaultDetectionMs));
    }
}
