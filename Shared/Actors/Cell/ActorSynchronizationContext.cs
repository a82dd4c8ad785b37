using RnnCluster.Actors.Dispatch;

namespace RnnCluster.Actors.Cell;

/// <summary>
/// Routes continuations of a ReceiveAsync handler back onto the actor's turn. After the actor has
/// stopped, posts reach a closed mailbox and run on the thread pool instead (see
/// <see cref="ActorSystem.HandleDeadSystemMessage"/>), so pending awaits still finish and observe
/// their cancelled token.
/// </summary>
internal sealed class ActorSynchronizationContext(ActorCell cell) : SynchronizationContext
{
    public override void Post(SendOrPostCallback d, object? state) =>
        cell.Mailbox.PostSystem(new RunContinuation(d, state));

    public override void Send(SendOrPostCallback d, object? state) =>
        throw new NotSupportedException("Synchronous Send onto an actor's turn would deadlock; use Post.");

    public override SynchronizationContext CreateCopy() => this;
}
