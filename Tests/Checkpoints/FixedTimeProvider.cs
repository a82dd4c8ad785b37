namespace RnnCluster.Tests.Checkpoints;

/// <summary>A clock that always reads the same instant, so manifests have an exact expected creation time.</summary>
internal sealed class FixedTimeProvider(DateTimeOffset now) : TimeProvider
{
    public override DateTimeOffset GetUtcNow() => now;
}
