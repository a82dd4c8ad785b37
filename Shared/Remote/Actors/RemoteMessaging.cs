using System.Collections.Concurrent;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using RnnCluster.Actors;
using RnnCluster.Actors.Dispatch;
using RnnCluster.Actors.Refs;
using RnnCluster.DataPlane;
using RnnCluster.DataPlane.Transport;

namespace RnnCluster.Remote.Actors;

/// <summary>
/// Joins an <see cref="ActorSystem"/> to a <see cref="RemoteTransport"/>: turns remote paths into
/// <see cref="RemoteActorRef"/>s, sends what they are told (one ordered outbound queue, so messages
/// from this node keep their order per peer), and delivers what arrives to the local recipient with
/// the sender as a remote ref. Messages from peers the <see cref="Gate"/> refuses (a downed
/// incarnation) are dropped and logged. Delivery is at-most-once, as in Akka.
/// </summary>
public sealed class RemoteMessaging : IAsyncDisposable
{
    private static readonly TimeSpan DrainTimeout = TimeSpan.FromSeconds(2);

    private readonly ActorSystem _system;
    private readonly RemoteTransport _transport;
    private readonly ILogger _logger;
    private readonly ConcurrentDictionary<string, RemoteActorRef> _refs = new(StringComparer.Ordinal);
    private readonly Lock _watchGate = new();
    private readonly Dictionary<RemoteActorRef, HashSet<IInternalActorRef>> _watchers = new(ReferenceEqualityComparer.Instance);
    private readonly Channel<Outbound> _outbound = Channel.CreateUnbounded<Outbound>(new UnboundedChannelOptions { SingleReader = true });
    private readonly CancellationTokenSource _stopping = new();
    private Task _sending = Task.CompletedTask;
    private Task _receiving = Task.CompletedTask;

    public RemoteMessaging(ActorSystem system, RemoteTransport transport, ILoggerFactory loggerFactory)
    {
        ArgumentNullException.ThrowIfNull(system);
        ArgumentNullException.ThrowIfNull(transport);
        ArgumentNullException.ThrowIfNull(loggerFactory);
        _system = system;
        _transport = transport;
        _logger = loggerFactory.CreateLogger<RemoteMessaging>();
    }

    public ActorSystem System => _system;

    /// <summary>Decides whether a message from a peer is delivered; returns a refusal reason or null. Default: accept all.</summary>
    public Func<NodeIdentity, object, string?> Gate { get; set; } = (_, _) => null;

    /// <summary>
    /// Which lane a message takes: control messages (small membership traffic) overtake tensors and
    /// are never held behind them. Default: every message is ordinary.
    /// </summary>
    public Func<object, MessagePriority> Priority { get; set; } = _ => MessagePriority.Ordinary;

    /// <summary>Messages refused by <see cref="Gate"/> so far (for tests and logs).</summary>
    public long RefusedMessages => Interlocked.Read(ref _refused);

    private long _refused;

    public void Start()
    {
        _sending = Task.Run(() => SendLoopAsync(_stopping.Token));
        _receiving = Task.Run(() => ReceiveLoopAsync(_stopping.Token));
    }

    /// <summary>A ref to <paramref name="path"/> (<c>rnn://system@host:port/user/x</c>); local paths resolve to the local actor.</summary>
    public IActorRef Resolve(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        var parsed = ActorPath.Parse(path, _system.Address);
        if (parsed.Address.Equals(_system.Address))
        {
            return _system.Lookup(parsed) ?? _system.DeadLetters;
        }

        return RefFor(parsed);
    }

    /// <summary>The path <paramref name="localPart"/> (<c>/user/x</c>) on the node <paramref name="nodeAddress"/>.</summary>
    public IActorRef Resolve(string nodeAddress, string localPart) => Resolve(nodeAddress + localPart);

    /// <summary>Tells every watcher of an actor on <paramref name="nodeAddress"/> that it terminated: the node is gone.</summary>
    public void NodeGone(string nodeAddress)
    {
        List<(RemoteActorRef Ref, IInternalActorRef[] Watchers)> gone = [];
        lock (_watchGate)
        {
            foreach (var (actor, watchers) in _watchers)
            {
                if (string.Equals(actor.NodeAddress, nodeAddress, StringComparison.Ordinal))
                {
                    gone.Add((actor, [.. watchers]));
                }
            }

            foreach (var (actor, _) in gone)
            {
                _watchers.Remove(actor);
            }
        }

        foreach (var (actor, watchers) in gone)
        {
            foreach (var watcher in watchers)
            {
                watcher.SendSystemMessage(new DeathWatchNotification(actor));
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        // Whatever was told before disposal (e.g. "the run finished") still goes out, for a moment.
        _outbound.Writer.TryComplete();
        try
        {
            await _sending.WaitAsync(DrainTimeout).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
        }

        await _stopping.CancelAsync().ConfigureAwait(false);
        try
        {
            await Task.WhenAll(_sending, _receiving).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }

        _stopping.Dispose();
    }

    internal void Send(RemoteActorRef recipient, object message, IActorRef? sender)
    {
        var senderPath = sender is null ? "" : Qualified(sender.Path);
        if (!_outbound.Writer.TryWrite(new Outbound(recipient, message, senderPath)))
        {
            RemoteActorsLog.NotSent(_logger, message.GetType().Name, recipient.Path.ToString(), "remoting has stopped");
        }
    }

    internal void Watch(RemoteActorRef watchee, IInternalActorRef watcher)
    {
        lock (_watchGate)
        {
            if (!_watchers.TryGetValue(watchee, out var set))
            {
                _watchers[watchee] = set = new HashSet<IInternalActorRef>(ReferenceEqualityComparer.Instance);
            }

            set.Add(watcher);
        }
    }

    internal void Unwatch(RemoteActorRef watchee, IInternalActorRef watcher)
    {
        lock (_watchGate)
        {
            if (_watchers.TryGetValue(watchee, out var set) && set.Remove(watcher) && set.Count == 0)
            {
                _watchers.Remove(watchee);
            }
        }
    }

    /// <summary>A local path as peers must write it: with this node's network address.</summary>
    private string Qualified(ActorPath path) =>
        path.Address.HasNetworkEndpoint ? path.ToString() : _system.Address + path.LocalPart;

    private RemoteActorRef RefFor(ActorPath path)
    {
        var key = path.ToString();
        return _refs.GetOrAdd(key, _ => new RemoteActorRef(this, path, path.Address.ToString()));
    }

    private async Task SendLoopAsync(CancellationToken stopping)
    {
        await foreach (var item in _outbound.Reader.ReadAllAsync(stopping).ConfigureAwait(false))
        {
            bool sent;
            try
            {
                sent = await _transport.SendAsync(item.Recipient.NodeAddress, item.Message, item.Sender, item.Recipient.Path.ToString(), Priority(item.Message), stopping).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (stopping.IsCancellationRequested)
            {
                return;
            }
            catch (ArgumentException e)
            {
                // An unregistered type is a programming error of this node: say so, keep the node up.
                RemoteActorsLog.NotSent(_logger, item.Message.GetType().Name, item.Recipient.Path.ToString(), e.Message);
                continue;
            }

            if (!sent)
            {
                RemoteActorsLog.NotSent(_logger, item.Message.GetType().Name, item.Recipient.Path.ToString(), "no connection to that node");
            }
        }
    }

    private async Task ReceiveLoopAsync(CancellationToken stopping)
    {
        await foreach (var inbound in _transport.Messages.ReadAllAsync(stopping).ConfigureAwait(false))
        {
            try
            {
                Deliver(inbound);
            }
            catch (Exception e) when (e is FormatException or ArgumentException or InvalidActorNameException)
            {
                RemoteActorsLog.BadAddress(_logger, inbound.Peer.ToString(), inbound.Recipient, e.Message);
            }
        }
    }

    private void Deliver(InboundMessage inbound)
    {
        if (Gate(inbound.Peer, inbound.Message) is { } refusal)
        {
            Interlocked.Increment(ref _refused);
            RemoteActorsLog.Refused(_logger, inbound.Message.GetType().Name, inbound.Peer.ToString(), refusal);
            return;
        }

        // The recipient's own address part is ignored: a peer may know this node by another name
        // (localhost vs 127.0.0.1); the connection already proved which node it reached.
        var target = ActorPath.Parse(inbound.Recipient, _system.Address);
        var local = _system.Lookup(ActorPath.Parse(target.LocalPart, _system.Address));
        var sender = inbound.Sender.Length == 0 ? null : Resolve(inbound.Sender);
        if (local is null)
        {
            RemoteActorsLog.NoRecipient(_logger, inbound.Message.GetType().Name, inbound.Recipient, inbound.Peer.ToString());
            _system.DeadLetters.Tell(inbound.Message, sender);
            return;
        }

        local.Tell(inbound.Message, sender);
    }

    private sealed record Outbound(RemoteActorRef Recipient, object Message, string Sender);
}
