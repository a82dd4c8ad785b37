namespace RnnCluster.Cluster;

/// <summary>
/// Lifecycle of a member, as in Akka.Cluster: Joining → Up → Leaving → Exiting → Removed for a
/// graceful exit; any live state → Down when the leader gives up on it; Down → Removed.
/// </summary>
public enum MemberStatus
{
    Joining,
    Up,
    Leaving,
    Exiting,
    Removed,
    Down,
}
