namespace RnnCluster.Training;

/// <summary>Loss, norm and throughput accumulated since the last metrics line.</summary>
internal sealed class IntervalStats(long startTimestamp)
{
    private double _loss;
    private long _tokens;
    private double _norm;
    private int _steps;

    public double MeanLoss => _tokens == 0 ? double.NaN : _loss / _tokens;

    public double MeanNorm => _steps == 0 ? double.NaN : _norm / _steps;

    public void Add(double loss, long tokens, double norm)
    {
        _loss += loss;
        _tokens += tokens;
        _norm += norm;
        _steps++;
    }

    public double TokensPerSecond(TimeProvider time)
    {
        var seconds = time.GetElapsedTime(startTimestamp).TotalSeconds;
        return seconds > 0 ? _tokens / seconds : 0;
    }
}
