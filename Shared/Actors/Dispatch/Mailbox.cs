using RnnCluster.Actors.Cell;

namespace RnnCluster.Actors.Dispatch;

/// <summary>
/// Queues an actor's messages and runs its turns on the .NET thread pool. A mailbox is scheduled
/// only while it has work; one turn processes all system messages, then up to <c>throughput</c>
/// user messages (system messages are re-checked between them so stop and restart are not stuck
/// behind a long queue), then yields the thread so other actors get their turn.
/// </summary>
/// <remarks>
/// Single-threadedness of an actor rests on <see cref="_status"/>: only the caller that moves it
/// from idle to scheduled queues a turn, and the turn sets it back to idle at its end — so at most
/// one turn runs at a time, and the interlocked transitions publish the actor's state to the next
/// turn, whichever thread runs it.
/// </remarks>
internal sealed class Mailbox : IThreadPoolWorkItem
{
    private const int Idle = 0;
    private const int Scheduled = 1;

    private readonly IUserQueue _user;
    private readonly Lock _systemLock = new();
    private readonly Queue<SystemMessage> _system = new();
    private readonly int _throughput;
    private int _status;
    private int _closed;

    // Written only under _systemLock, read without it as a cheap "anything to do?" hint: a stale
    // zero is harmless because every PostSystem schedules a turn after enqueueing.
    private volatile int _systemCount;

    // Written only on the actor's turn. Producers read it to avoid scheduling turns that could do
    // nothing; a stale "suspended" is harmless because un-suspending happens on a turn, which then
    // goes on to process the user queue and re-checks for work before going idle.
    private volatile bool _userSuspended = true;

    public Mailbox(MailboxKind kind, int throughput)
    {
        _user = kind.Capacity is { } capacity ? new BoundedUserQueue(capacity) : new UnboundedUserQueue();
        _throughput = throughput;
    }

    public ActorCell Cell { get; set; } = null!;

    public int? Capacity => (_user as BoundedUserQueue)?.Capacity;

    public bool IsClosed => Volatile.Read(ref _closed) != 0;

    public bool UserSuspended
    {
        get => _userSuspended;
        set => _userSuspended = value;
    }

    public void PostUser(Envelope envelope)
    {
        if (IsClosed)
        {
            Cell.System.PublishDeadLetter(envelope.Message, envelope.Sender, Cell.SelfRef, DeadLetterReasons.Terminated);
            return;
        }

        switch (_user.TryEnqueue(envelope))
        {
            case EnqueueOutcome.Full:
                Cell.System.PublishMailboxFull(envelope.Message, envelope.Sender, Cell.SelfRef, Capacity ?? 0);
                return;
            case EnqueueOutcome.Closed:
                Cell.System.PublishDeadLetter(envelope.Message, envelope.Sender, Cell.SelfRef, DeadLetterReasons.Terminated);
                return;
        }

        AfterUserEnqueue();
    }

    public async ValueTask PostUserAsync(Envelope envelope, CancellationToken cancellationToken)
    {
        if (IsClosed || !await _user.EnqueueAsync(envelope, cancellationToken).ConfigureAwait(false))
        {
            Cell.System.PublishDeadLetter(envelope.Message, envelope.Sender, Cell.SelfRef, DeadLetterReasons.Terminated);
            return;
        }

        AfterUserEnqueue();
    }

    /// <summary>The runtime's own self-messages (timers, Terminated): they ignore the bound.</summary>
    public void PostInternal(Envelope envelope)
    {
        if (!IsClosed && _user.ForceEnqueue(envelope))
        {
            AfterUserEnqueue();
        }
    }

    public void PostSystem(SystemMessage message)
    {
        bool dead;
        lock (_systemLock)
        {
            dead = IsClosed;
            if (!dead)
            {
                _system.Enqueue(message);
                _systemCount = _system.Count;
            }
        }

        if (dead)
        {
            Cell.System.HandleDeadSystemMessage(message, Cell.SelfRef);
        }
        else
        {
            TrySchedule();
        }
    }

    /// <summary>Called once, on the actor's last turn. Returns what was left in both queues.</summary>
    public (List<Envelope> User, List<SystemMessage> System) Close()
    {
        var system = new List<SystemMessage>();
        lock (_systemLock)
        {
            // Under the same lock as PostSystem's check, so a system message is either queued
            // before this (and drained here) or sees the mailbox closed (and is handled as dead).
            Interlocked.Exchange(ref _closed, 1);
            system.AddRange(_system);
            _system.Clear();
            _systemCount = 0;
        }

        return (_user.CloseAndDrain(), system);
    }

    public void TrySchedule()
    {
        if (Interlocked.CompareExchange(ref _status, Scheduled, Idle) == Idle)
        {
            ThreadPool.UnsafeQueueUserWorkItem(this, preferLocal: false);
        }
    }

    void IThreadPoolWorkItem.Execute()
    {
        var previous = ActorCell.Current;
        ActorCell.Current = Cell;
        try
        {
            ProcessSystemMessages();
            for (var left = _throughput; left > 0 && !_userSuspended && !IsClosed; left--)
            {
                if (!_user.TryDequeue(out var envelope))
                {
                    break;
                }

                Cell.Invoke(envelope);
                if (_systemCount > 0)
                {
                    ProcessSystemMessages();
                }
            }
        }
        catch (Exception exception)
        {
            // The cell catches everything actor code throws; reaching here is a runtime bug. Log it
            // loudly rather than let a thread-pool exception take the whole process down.
            ActorsLog.RuntimeError(Cell.Log, Cell.Self.Path, exception);
        }
        finally
        {
            ActorCell.Current = previous;
            Volatile.Write(ref _status, Idle);
            if (HasRunnableWork())
            {
                TrySchedule();
            }
        }
    }

    private bool HasRunnableWork() =>
        _systemCount > 0 || (!_userSuspended && !IsClosed && _user.HasMessages);

    private void AfterUserEnqueue()
    {
        if (IsClosed)
        {
            // Lost the race with Close: the drain may have missed this message. Drain again; each
            // message is dequeued by exactly one thread, so each is dead-lettered exactly once.
            foreach (var late in _user.CloseAndDrain())
            {
                Cell.System.PublishDeadLetter(late.Message, late.Sender, Cell.SelfRef, DeadLetterReasons.Terminated);
            }

            return;
        }

        if (!_userSuspended)
        {
            TrySchedule();
        }
    }

    private void ProcessSystemMessages()
    {
        while (true)
        {
            SystemMessage message;
            lock (_systemLock)
            {
                if (!_system.TryDequeue(out message!))
                {
                    return;
                }

                _systemCount = _system.Count;
            }

            Cell.SystemInvoke(message);
        }
    }
}
