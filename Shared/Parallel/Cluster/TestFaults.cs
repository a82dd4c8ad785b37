using RnnCluster.Config;
using RnnCluster.DataPlane.Transport;

namespace RnnCluster.Parallel.Cluster;

/// <summary>
/// Test-only: the delay <c>RNNCLUSTER_FAULTS=delay=30ms</c> asks for when <c>cluster.test-faults</c> is on
/// (process tests use it to keep a tiny run going until their fault lands). Zero in production.
/// </summary>
public static class TestFaults
{
    public static TimeSpan SendDelay(ClusterSettings settings, Func<string, string?>? environment = null)
    {
        ArgumentNullException.ThrowIfNull(settings);
        if (NodeSetup.FaultsFrom(settings, environment) is not { } text)
        {
            return TimeSpan.Zero;
        }

        try
        {
            return TransportFaults.Parse(text).Delay;
        }
        catch (FormatException e)
        {
            throw new ConfigException($"{NodeSetup.FaultsVariable} (read because cluster.test-faults = true): {e.Message}");
        }
    }
}
