namespace RnnCluster.DataPlane.Transport;

/// <summary>
/// Applies <see cref="TransportFaults"/> for one transport. All its connections draw from one seeded
/// <see cref="Random"/> under a lock, so the sequence of decisions depends only on the seed and the
/// order of sends.
/// </summary>
internal sealed class FaultInjector(TransportFaults faults)
{
    private readonly Random _random = new(faults.Seed);
    private readonly Lock _gate = new();

    public TimeSpan Delay { get; } = faults.Delay;

    public bool ShouldDrop()
    {
        if (faults.DropProbability <= 0)
        {
            return false;
        }

        lock (_gate)
        {
            return _random.NextDouble() < faults.DropProbability;
        }
    }
}
