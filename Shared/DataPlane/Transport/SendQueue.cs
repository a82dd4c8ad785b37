using System.Threading.Channels;
using RnnCluster.DataPlane.Protocol;

namespace RnnCluster.DataPlane.Transport;

/// <summary>
/// The frames waiting for one connection's writer, in two lanes. Control frames (heartbeats, control
/// messages) always go next, even between the chunks of a large ordinary message; ordinary messages
/// keep their order among themselves. The ordinary lane is bounded in messages so a fast sender waits
/// instead of queueing tensors without limit.
/// Many producers, one consumer (the connection's writer).
/// </summary>
internal sealed class SendQueue : IDisposable
{
    /// <summary>Heartbeats and control messages are small; this many queued means the writer is stuck anyway.</summary>
    private const int ControlCapacity = 1024;

    private readonly Channel<Frame> _control = Channel.CreateBounded<Frame>(
        new BoundedChannelOptions(ControlCapacity) { SingleReader = true, FullMode = BoundedChannelFullMode.Wait });

    private readonly Channel<IReadOnlyList<Frame>> _ordinary;

    // One permit per enqueued entry (a control frame or an ordinary message), so the single consumer can
    // wait on both lanes at once without leaving a waiter behind on the idle one. A consumer may take a
    // control frame before its permit is released; the permit then wakes it once for nothing, which the
    // loop tolerates.
    private readonly SemaphoreSlim _available = new(0);

    private IReadOnlyList<Frame>? _current;
    private int _next;

    public SendQueue(int ordinaryCapacity)
    {
        _ordinary = Channel.CreateBounded<IReadOnlyList<Frame>>(
            new BoundedChannelOptions(ordinaryCapacity) { SingleReader = true, FullMode = BoundedChannelFullMode.Wait });
    }

    /// <summary>False when the lane is full or the queue completed; used for heartbeats, which the next one replaces.</summary>
    public bool TryEnqueueControl(Frame frame)
    {
        if (!_control.Writer.TryWrite(frame))
        {
            return false;
        }

        _available.Release();
        return true;
    }

    /// <exception cref="ChannelClosedException">The connection is closing.</exception>
    public async ValueTask EnqueueControlAsync(Frame frame, CancellationToken cancellationToken)
    {
        await _control.Writer.WriteAsync(frame, cancellationToken).ConfigureAwait(false);
        _available.Release();
    }

    /// <summary>Queues one message's frames (one, or all chunks of it); waits while the lane is full.</summary>
    /// <exception cref="ChannelClosedException">The connection is closing.</exception>
    public async ValueTask EnqueueOrdinaryAsync(IReadOnlyList<Frame> frames, CancellationToken cancellationToken)
    {
        await _ordinary.Writer.WriteAsync(frames, cancellationToken).ConfigureAwait(false);
        _available.Release();
    }

    /// <summary>The next frame to write: a control frame if one waits, else the next of the current ordinary message.</summary>
    public async ValueTask<Frame> DequeueAsync(CancellationToken cancellationToken)
    {
        Frame? frame;
        while (!TryDequeue(out frame))
        {
            await _available.WaitAsync(cancellationToken).ConfigureAwait(false);
        }

        return frame;
    }

    /// <summary>Takes the next frame if one is queued; the writer drains with it after <see cref="Complete"/>.</summary>
    public bool TryDequeue([System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out Frame? frame)
    {
        while (true)
        {
            if (_control.Reader.TryRead(out frame))
            {
                TakePermit();
                return true;
            }

            if (_current is not null)
            {
                frame = _current[_next++];
                if (_next == _current.Count)
                {
                    _current = null;
                }

                return true;
            }

            if (!_ordinary.Reader.TryRead(out var message))
            {
                return false;
            }

            TakePermit();
            _current = message.Count > 0 ? message : null;
            _next = 0;
        }
    }

    public void Dispose() => _available.Dispose();

    /// <summary>Takes the permit of an entry read without waiting, if its producer released it already.</summary>
    private void TakePermit() => _available.Wait(0);

    /// <summary>Refuses further frames; waiting producers get <see cref="ChannelClosedException"/>.</summary>
    public void Complete()
    {
        _control.Writer.TryComplete();
        _ordinary.Writer.TryComplete();
    }
}
