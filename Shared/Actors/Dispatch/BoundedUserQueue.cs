namespace RnnCluster.Actors.Dispatch;

/// <summary>
/// A queue of at most <c>capacity</c> user messages with FIFO hand-off to waiting senders.
/// One lock guards the queue, the waiters and the closed flag: a bounded mailbox is chosen for
/// back-pressure, not for peak throughput, and a single lock makes "space freed" and "waiter
/// admitted" one atomic step, so a waiter can never miss its slot.
/// </summary>
internal sealed class BoundedUserQueue(int capacity) : IUserQueue
{
    private readonly Lock _lock = new();
    private readonly Queue<Envelope> _queue = new();
    private readonly Queue<Waiter> _waiters = new();
    private bool _closed;

    // Written under the lock, read without it: a stale read only delays the consumer's next look.
    private volatile int _count;

    public int Capacity { get; } = capacity;

    public bool HasMessages => _count > 0;

    public EnqueueOutcome TryEnqueue(Envelope envelope)
    {
        lock (_lock)
        {
            if (_closed)
            {
                return EnqueueOutcome.Closed;
            }

            // Waiting senders came first; a Tell must not overtake them.
            if (_queue.Count >= Capacity || _waiters.Count > 0)
            {
                return EnqueueOutcome.Full;
            }

            _queue.Enqueue(envelope);
            _count = _queue.Count;
            return EnqueueOutcome.Enqueued;
        }
    }

    public ValueTask<bool> EnqueueAsync(Envelope envelope, CancellationToken cancellationToken)
    {
        Waiter waiter;
        lock (_lock)
        {
            if (_closed)
            {
                return ValueTask.FromResult(false);
            }

            if (_queue.Count < Capacity && _waiters.Count == 0)
            {
                _queue.Enqueue(envelope);
                _count = _queue.Count;
                return ValueTask.FromResult(true);
            }

            if (cancellationToken.IsCancellationRequested)
            {
                return ValueTask.FromCanceled<bool>(cancellationToken);
            }

            waiter = new Waiter(envelope);
            _waiters.Enqueue(waiter);
        }

        if (cancellationToken.CanBeCanceled)
        {
            waiter.Registration = cancellationToken.UnsafeRegister(
                static (state, token) =>
                {
                    var (queue, w) = ((BoundedUserQueue, Waiter))state!;
                    queue.CancelWaiter(w, token);
                },
                (this, waiter));
        }

        return new ValueTask<bool>(waiter.Completion.Task);
    }

    public bool ForceEnqueue(Envelope envelope)
    {
        lock (_lock)
        {
            if (_closed)
            {
                return false;
            }

            _queue.Enqueue(envelope);
            _count = _queue.Count;
            return true;
        }
    }

    public bool TryDequeue(out Envelope envelope)
    {
        Waiter? admitted = null;
        lock (_lock)
        {
            if (!_queue.TryDequeue(out envelope))
            {
                return false;
            }

            // Hand the freed slot to the oldest live waiter. Cancelled waiters stay in the queue
            // (removal from the middle is O(n)) and are skipped here.
            while (_waiters.TryDequeue(out var waiter))
            {
                if (!waiter.Done)
                {
                    waiter.Done = true;
                    _queue.Enqueue(waiter.Envelope);
                    admitted = waiter;
                    break;
                }
            }

            _count = _queue.Count;
        }

        // Completing outside the lock: the awaiting sender's continuation must not run under it
        // (RunContinuationsAsynchronously also keeps it off the actor's turn).
        admitted?.Complete(true);
        return true;
    }

    public List<Envelope> CloseAndDrain()
    {
        var drained = new List<Envelope>();
        var released = new List<Waiter>();
        lock (_lock)
        {
            _closed = true;
            drained.AddRange(_queue);
            _queue.Clear();
            _count = 0;
            while (_waiters.TryDequeue(out var waiter))
            {
                if (!waiter.Done)
                {
                    waiter.Done = true;
                    released.Add(waiter);
                }
            }
        }

        foreach (var waiter in released)
        {
            // false: the sender dead-letters its own message, with its own sender attached.
            waiter.Complete(false);
        }

        return drained;
    }

    private void CancelWaiter(Waiter waiter, CancellationToken token)
    {
        lock (_lock)
        {
            if (waiter.Done)
            {
                // Admitted or closed first: the outcome is already decided, cancellation is too late.
                return;
            }

            waiter.Done = true;
        }

        waiter.Completion.TrySetCanceled(token);
    }

    private sealed class Waiter(Envelope envelope)
    {
        public Envelope Envelope { get; } = envelope;

        public TaskCompletionSource<bool> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        /// <summary>Guarded by the queue's lock: decided (admitted, closed or cancelled).</summary>
        public bool Done { get; set; }

        public CancellationTokenRegistration Registration { get; set; }

        public void Complete(bool admitted)
        {
            Registration.Dispose();
            Completion.TrySetResult(admitted);
        }
    }
}
