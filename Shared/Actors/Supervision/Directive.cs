namespace RnnCluster.Actors;

/// <summary>What a supervisor does with a child that failed.</summary>
public enum Directive
{
    /// <summary>Keep the same instance and its state; go on with the next message.</summary>
    Resume,

    /// <summary>
    /// Replace the instance with a fresh one from its <see cref="Props"/> (PreRestart on the old,
    /// PostRestart on the new), keeping the ref and the messages still queued. The message that
    /// failed is NOT processed again: it may be the cause, and redelivering it could loop forever.
    /// Protocols that need the work done — the training step — retry it explicitly.
    /// </summary>
    Restart,

    /// <summary>Stop the child permanently; its watchers get <see cref="Terminated"/>.</summary>
    Stop,

    /// <summary>Fail the supervisor itself with the child's exception, handing the decision to its own parent.</summary>
    Escalate,
}
