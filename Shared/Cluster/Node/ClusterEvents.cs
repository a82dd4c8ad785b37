namespace RnnCluster.Cluster;

// What a joining node's ClusterJoiner publishes on the actor EventStream for its host program.

/// <summary>The leader admitted this node; <paramref name="LeaderAddress"/> is the coordinator's node address.</summary>
public sealed record JoinedCluster(string LeaderAddress, ulong LeaderIncarnation);

/// <summary>No seed admitted this node in time, or the coordinator stayed away too long; the host exits with this message.</summary>
public sealed record JoinFailed(string Message);

/// <summary>The leader downed this incarnation (or refused it as a dead one): the host must rejoin as a new incarnation.</summary>
public sealed record DownedByLeader(string Reason);

/// <summary>The coordinator finished the run; the host exits 0.</summary>
public sealed record ClusterRunFinished(string Message);

/// <summary>The leader acknowledged a graceful leave.</summary>
public sealed record LeftCluster;

/// <summary>Host → joiner: leave gracefully (SIGTERM).</summary>
public sealed record LeaveCluster
{
    public static LeaveCluster Instance { get; } = new();
}
