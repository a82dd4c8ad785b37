namespace RnnCluster.Config;

/// <summary>How the learning rate changes over a run (after any warm-up).</summary>
public enum ScheduleKind
{
    /// <summary>Stays at the configured rate.</summary>
    Constant = 0,

    /// <summary>Multiplied by the plateau factor whenever validation loss stops improving.</summary>
    Plateau = 1,

    /// <summary>Follows a half cosine from the rate down to the minimum over the run.</summary>
    Cosine = 2,
}
