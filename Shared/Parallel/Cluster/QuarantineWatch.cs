using Akka.Actor;
using Akka.Event;
using Akka.Remote;
using Microsoft.Extensions.Logging;

namespace RnnCluster.Parallel.Cluster;

/// <summary>
/// Downs its own node the moment another member says it has quarantined this one. A member quarantines a node
/// once the cluster has removed it (or its link failed for good), and never talks to that incarnation again: the
/// node can only stop and be started anew. Akka.NET leaves that to this node's split-brain resolver, which needs
/// the failure detector to give up on every other member first and then <c>stable-after</c> of quiet; on a loaded
/// machine a node paused past the acceptable pause was seen to wait out its 60 s join timeout instead, and exit
/// saying no coordinator answered. Akka on the JVM downs such a node itself; this does the same for Akka.NET.
/// Downing itself takes the same path as being downed (CoordinatedShutdown, the system terminates, the
/// executables say "downed" and exit 3), only at once.
/// </summary>
public sealed class QuarantineWatch : ReceiveActor
{
    private readonly ILogger _logger;

    public QuarantineWatch(ILoggerFactory loggerFactory)
    {
        ArgumentNullException.ThrowIfNull(loggerFactory);
        _logger = loggerFactory.CreateLogger<QuarantineWatch>();
        Receive<ThisActorSystemQuarantinedEvent>(q =>
        {
            var cluster = Akka.Cluster.Cluster.Get(Context.System);
            ClusterRunLog.Quarantined(_logger, q.RemoteAddress.ToString());
            cluster.Down(cluster.SelfAddress);
        });
    }
}
