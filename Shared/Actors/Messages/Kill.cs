namespace RnnCluster.Actors;

/// <summary>
/// Makes the recipient fail with <see cref="ActorKilledException"/> when it reaches this message;
/// its supervisor decides what happens (the default decider stops it).
/// </summary>
public sealed class Kill
{
    private Kill()
    {
    }

    public static Kill Instance { get; } = new();

    public override string ToString() => nameof(Kill);
}
