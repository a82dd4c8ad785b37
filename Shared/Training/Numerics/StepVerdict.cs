namespace RnnCluster.Training.Numerics;

/// <summary>What the <see cref="NumericalGuard"/> makes of a step.</summary>
public enum StepVerdict
{
    /// <summary>Finite and no spike: the optimizer steps.</summary>
    Apply,

    /// <summary>The loss or the global gradient norm is NaN or infinite: skipped.</summary>
    NonFinite,

    /// <summary>The loss is above <c>spike-factor</c> × the running median: skipped.</summary>
    Spike,
}
