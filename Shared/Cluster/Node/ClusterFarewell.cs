namespace RnnCluster.Cluster;

/// <summary>
/// The farewell a coordinator's connections close with when its run has finished (see
/// <see cref="Remote.Transport.RemoteTransport.Farewell"/>). It is the last thing on every connection,
/// so a worker learns the run is over even if the <c>RunFinished</c> message passed it by (it was
/// rejoining at that moment); a coordinator that is merely stopping (SIGTERM, a crash) sends none,
/// and its workers wait for it to come back.
/// </summary>
public static class ClusterFarewell
{
    private const string RunFinishedPrefix = "run finished: ";

    public static string RunFinished(string message) => RunFinishedPrefix + message;

    /// <summary>True when <paramref name="farewell"/> says the run finished; <paramref name="message"/> is what the coordinator said.</summary>
    public static bool IsRunFinished(string? farewell, out string message)
    {
        if (farewell is not null && farewell.StartsWith(RunFinishedPrefix, StringComparison.Ordinal))
        {
            message = farewell[RunFinishedPrefix.Length..];
            return true;
        }

        message = "";
        return false;
    }
}
