namespace RnnCluster.Tests.Actors.Support;

/// <summary>Counts the instances a Props factory made, shared across restarts of one actor.</summary>
public sealed class Incarnations
{
    private int _count;

    public int Count => Volatile.Read(ref _count);

    public int Next() => Interlocked.Increment(ref _count);
}
