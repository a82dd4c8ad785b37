namespace RnnCluster.Tests.DataPlane.Transport;

/// <summary>A jitter source that always draws the same value, so back-off delays are exact.</summary>
internal sealed class FixedRandom(double value) : Random
{
    public override double NextDouble() => value;
}
