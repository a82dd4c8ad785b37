using System.Threading.Channels;

namespace RnnCluster.Monitoring;

/// <summary>
/// A follower of a <see cref="RunMonitor"/>: the updates after its snapshot, in order, none missed and none
/// repeated. A follower that falls <see cref="RunMonitor.SubscriberCapacity"/> updates behind is cut off
/// rather than slowing training: <see cref="Updates"/> completes with <see cref="Dropped"/> set, and the
/// follower starts again from a fresh snapshot (a browser's EventSource reconnects by itself). Dispose to
/// stop following.
/// </summary>
public sealed class MonitorSubscription : IDisposable
{
    private readonly RunMonitor _monitor;
    private readonly Channel<MonitorUpdate> _channel;
    private volatile bool _dropped;

    internal MonitorSubscription(RunMonitor monitor, int capacity)
    {
        _monitor = monitor;
        // FullMode.Wait only matters for WriteAsync, which the monitor never calls: TryWrite answers
        // false when full, and the monitor then drops this follower instead of waiting for it.
        _channel = Channel.CreateBounded<MonitorUpdate>(new BoundedChannelOptions(capacity)
        {
            SingleReader = true,
            SingleWriter = true,
            FullMode = BoundedChannelFullMode.Wait,
        });
    }

    public ChannelReader<MonitorUpdate> Updates => _channel.Reader;

    /// <summary>True once the follower was cut off for falling behind.</summary>
    public bool Dropped => _dropped;

    public void Dispose() => _monitor.Unsubscribe(this);

    /// <summary>Called under the monitor's lock: false when the follower is full (and has now been cut off).</summary>
    internal bool TryPublish(MonitorUpdate update)
    {
        if (_channel.Writer.TryWrite(update))
        {
            return true;
        }

        _dropped = true;
        _channel.Writer.TryComplete();
        return false;
    }

    internal void Complete() => _channel.Writer.TryComplete();
}
