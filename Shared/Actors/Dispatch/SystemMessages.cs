using RnnCluster.Actors.Refs;

namespace RnnCluster.Actors.Dispatch;

// The runtime's own messages. They bypass user-mailbox bounds and are processed before any user
// message, so stop, restart and watch always get through. They are tiny and only meaningful
// together, hence one file.

internal abstract record SystemMessage;

/// <summary>Make the first incarnation and run PreStart.</summary>
internal sealed record Create : SystemMessage
{
    public static Create Instance { get; } = new();
}

/// <summary>Stop: children first, then PostStop, then tell watchers and the parent.</summary>
internal sealed record Terminate : SystemMessage
{
    public static Terminate Instance { get; } = new();
}

/// <summary>From the parent: replace the incarnation (Directive.Restart).</summary>
internal sealed record Recreate(Exception Cause) : SystemMessage;

/// <summary>From the parent: continue with the same incarnation (Directive.Resume).</summary>
internal sealed record Resume : SystemMessage
{
    public static Resume Instance { get; } = new();
}

/// <summary>From the parent: hold user messages until a Recreate or Resume (all-for-one siblings).</summary>
internal sealed record Suspend : SystemMessage
{
    public static Suspend Instance { get; } = new();
}

/// <summary>To the parent: a child failed processing <paramref name="Message"/>.</summary>
internal sealed record Failed(LocalActorRef Child, Exception Cause, object? Message) : SystemMessage;

internal sealed record Watch(IInternalActorRef Watchee, IInternalActorRef Watcher) : SystemMessage;

internal sealed record Unwatch(IInternalActorRef Watchee, IInternalActorRef Watcher) : SystemMessage;

/// <summary>To watchers and the parent: <paramref name="Actor"/> has stopped.</summary>
internal sealed record DeathWatchNotification(IInternalActorRef Actor) : SystemMessage;

/// <summary>The task of a ReceiveAsync handler completed; user messages may flow again.</summary>
internal sealed record AsyncHandlerCompleted(Task Task) : SystemMessage;

/// <summary>A continuation of a ReceiveAsync handler, run on the actor's turn.</summary>
internal sealed record RunContinuation(SendOrPostCallback Callback, object? State) : SystemMessage;
