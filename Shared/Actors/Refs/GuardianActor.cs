namespace RnnCluster.Actors.Refs;

/// <summary>The actor behind <c>/user</c> and <c>/system</c>: it only supervises its children.</summary>
internal sealed class GuardianActor : ActorBase
{
    protected internal override void OnReceive(object message) => Unhandled(message);
}
