using System.Collections.Concurrent;

namespace RnnCluster.Actors.Dispatch;

/// <summary>
/// Lock-free unbounded queue. Closing is tracked by the <see cref="Mailbox"/>, which re-checks after
/// every enqueue; a message that slips in after the drain is drained by its own sender (see
/// <see cref="Mailbox.PostUser"/>), so nothing is silently stranded.
/// </summary>
internal sealed class UnboundedUserQueue : IUserQueue
{
    private readonly ConcurrentQueue<Envelope> _queue = new();

    public bool HasMessages => !_queue.IsEmpty;

    public EnqueueOutcome TryEnqueue(Envelope envelope)
    {
        _queue.Enqueue(envelope);
        return EnqueueOutcome.Enqueued;
    }

    public ValueTask<bool> EnqueueAsync(Envelope envelope, CancellationToken cancellationToken)
    {
        _queue.Enqueue(envelope);
        return ValueTask.FromResult(true);
    }

    public bool ForceEnqueue(Envelope envelope)
    {
        _queue.Enqueue(envelope);
        return true;
    }

    public bool TryDequeue(out Envelope envelope) => _queue.TryDequeue(out envelope);

    public List<Envelope> CloseAndDrain()
    {
        var drained = new List<Envelope>();
        while (_queue.TryDequeue(out var envelope))
        {
            drained.Add(envelope);
        }

        return drained;
    }
}
