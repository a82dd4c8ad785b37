namespace RnnCluster.Actors;

/// <summary>
/// At most <see cref="MaxRetries"/> restarts of a child within any sliding <see cref="Window"/>; the
/// failure that would exceed it stops the child instead. A strategy without a limit (<c>null</c>)
/// restarts forever.
/// </summary>
public sealed record RestartLimit(int MaxRetries, TimeSpan Window)
{
    public int MaxRetries { get; } = MaxRetries >= 0
        ? MaxRetries
        : throw new ArgumentOutOfRangeException(nameof(MaxRetries), MaxRetries, "MaxRetries is zero or more.");

    public TimeSpan Window { get; } = Window > TimeSpan.Zero
        ? Window
        : throw new ArgumentOutOfRangeException(nameof(Window), Window, "Window is positive.");
}
