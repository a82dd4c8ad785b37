namespace RnnCluster.Actors;

/// <summary>
/// Stops the recipient once it reaches this message: everything queued before it is processed,
/// everything after goes to dead letters.
/// </summary>
public sealed class PoisonPill
{
    private PoisonPill()
    {
    }

    public static PoisonPill Instance { get; } = new();

    public override string ToString() => nameof(PoisonPill);
}
