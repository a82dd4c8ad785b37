namespace RnnCluster.Actors.Dispatch;

/// <summary>
/// The user-message queue of a mailbox: many producers, one consumer (the actor's turn).
/// </summary>
internal interface IUserQueue
{
    bool HasMessages { get; }

    EnqueueOutcome TryEnqueue(Envelope envelope);

    /// <summary>Waits for space; completes with false when the queue closed instead.</summary>
    ValueTask<bool> EnqueueAsync(Envelope envelope, CancellationToken cancellationToken);

    /// <summary>Ignores the bound: for the runtime's own self-messages (timers, Terminated).</summary>
    bool ForceEnqueue(Envelope envelope);

    bool TryDequeue(out Envelope envelope);

    /// <summary>Refuses further messages and returns everything left, including waiting senders' messages.</summary>
    List<Envelope> CloseAndDrain();
}
