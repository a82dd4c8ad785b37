using Microsoft.Extensions.Logging;
using RnnCluster.DataPlane.Tensors;

namespace RnnCluster.DataPlane.AllReduce;

/// <summary>
/// Routes the inbound data-plane connections of a node (its <see cref="TensorTransport.AcceptAsync"/>
/// loop) to the <see cref="GradientGroup"/> of their generation. Every inbound connection must open with
/// an all-reduce hello naming run, generation and rank. A hello for a group forming (or formed) here is
/// handed to it; one of an older generation of the run, or of another run while a group of this node's
/// run is open, is closed with the reason (the dialler's group sees it as refused). A hello for a group
/// not formed here yet is held, because members learn of a new generation at different moments and a
/// fast one dials before a slow one has formed; it is closed if no such group forms within the hold limit.
/// </summary>
public sealed class PeerConnections : IAsyncDisposable
{
    /// <summary>How long a hello may wait for its group to form on this node, by default.</summary>
    public static readonly TimeSpan DefaultHoldLimit = TimeSpan.FromSeconds(60);

    /// <summary>How long a new inbound connection may take to send its hello.</summary>
    public static readonly TimeSpan HelloTimeout = TimeSpan.FromSeconds(10);

    private readonly TensorTransport _transport;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly TimeSpan _holdLimit;
    private readonly CancellationTokenSource _stopping = new();
    private readonly Lock _gate = new();
    private readonly Dictionary<(string Run, int Generation), Func<TensorConnection, TensorHeader, string?>> _groups = [];
    private readonly Dictionary<string, int> _latest = new(StringComparer.Ordinal);
    private readonly List<Held> _held = [];
    private readonly HashSet<Task> _handlers = [];
    private readonly Task _accepting;
    private string? _currentRun;
    private int _disposed;

    /// <summary>Starts the accept loop on <paramref name="transport"/>, which must be started.</summary>
    public PeerConnections(TensorTransport transport, ILoggerFactory loggerFactory)
        : this(transport, loggerFactory, TimeProvider.System, DefaultHoldLimit)
    {
    }

    /// <param name="holdLimit">How long a hello for a group not formed here yet is held before it is closed.</param>
    public PeerConnections(TensorTransport transport, ILoggerFactory loggerFactory, TimeProvider timeProvider, TimeSpan holdLimit)
    {
        ArgumentNullException.ThrowIfNull(transport);
        ArgumentNullException.ThrowIfNull(loggerFactory);
        ArgumentNullException.ThrowIfNull(timeProvider);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(holdLimit, TimeSpan.Zero);
        _ = transport.LocalEndPoint; // throws unless started: an accept loop on a transport that is not would end at once
        _transport = transport;
        _logger = loggerFactory.CreateLogger<PeerConnections>();
        _time = timeProvider;
        _holdLimit = holdLimit;
        _accepting = Task.Run(AcceptLoopAsync);
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        await _stopping.CancelAsync().ConfigureAwait(false);
        await _accepting.ConfigureAwait(false);
        Held[] held;
        Task[] handlers;
        lock (_gate)
        {
            held = [.. _held];
            _held.Clear();
            handlers = [.. _handlers];
        }

        foreach (var h in held)
        {
            h.Timer.Dispose();
        }

        await Task.WhenAll(held.Select(h => CloseAsync(h.Connection, "the node's all-reduce routing stopped"))).ConfigureAwait(false);
        await Task.WhenAll(handlers).ConfigureAwait(false);
        _stopping.Dispose();
    }

    /// <summary>
    /// Makes <paramref name="offer"/> the receiver of hellos for (<paramref name="runId"/>, <paramref name="generation"/>):
    /// held ones are offered at once, and held ones of older generations or other runs are closed.
    /// <paramref name="offer"/> returns why it refuses a connection (which is then closed), or null when it took it.
    /// </summary>
    internal IDisposable Register(string runId, int generation, Func<TensorConnection, TensorHeader, string?> offer)
    {
        var claimed = new List<Held>();
        var stale = new List<(Held Held, string Why)>();
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed != 0, this);
            if (!_groups.TryAdd((runId, generation), offer))
            {
                throw new InvalidOperationException($"A group of run {runId} generation {generation} is already forming on this node.");
            }

            _latest[runId] = _latest.TryGetValue(runId, out var latest) ? Math.Max(latest, generation) : generation;
            _currentRun = runId;
            for (var i = _held.Count - 1; i >= 0; i--)
            {
                var h = _held[i];
                var why = Route(h.Hello, out var target);
                if (target is not null)
                {
                    claimed.Add(h);
                }
                else if (why is not null)
                {
                    stale.Add((h, why));
                }
                else
                {
                    continue;
                }

                _held.RemoveAt(i);
                h.Timer.Dispose();
            }
        }

        foreach (var (h, why) in stale)
        {
            Close(h.Connection, why);
        }

        // In arrival order, so the group sees its peers as they came.
        for (var i = claimed.Count - 1; i >= 0; i--)
        {
            Offer(offer, claimed[i].Connection, claimed[i].Hello);
        }

        return new Registration(this, runId, generation, offer);
    }

    private void Unregister(string runId, int generation, Func<TensorConnection, TensorHeader, string?> offer)
    {
        lock (_gate)
        {
            if (_groups.TryGetValue((runId, generation), out var current) && current == offer)
            {
                _groups.Remove((runId, generation));
            }
        }
    }

    /// <summary>Under the lock: the group a hello goes to, or why it is refused, or neither (hold it).</summary>
    private string? Route(TensorHeader hello, out Func<TensorConnection, TensorHeader, string?>? target)
    {
        if (_groups.TryGetValue((hello.RunId, hello.Generation), out target))
        {
            return null;
        }

        if (_latest.TryGetValue(hello.RunId, out var latest) && hello.Generation < latest)
        {
            return $"stale generation {hello.Generation} of run {hello.RunId}: this node is at generation {latest}";
        }

        if (_currentRun is { } run && !string.Equals(run, hello.RunId, StringComparison.Ordinal) && _groups.Keys.Any(k => string.Equals(k.Run, run, StringComparison.Ordinal)))
        {
            return $"unknown run {hello.RunId}: this node takes part in run {run}";
        }

        return null;
    }

    private async Task AcceptLoopAsync()
    {
        try
        {
            while (true)
            {
                TensorConnection connection;
                try
                {
                    connection = await _transport.AcceptAsync(_stopping.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
                catch (InvalidOperationException)
                {
                    return; // the transport stopped
                }

                var handler = HandleAsync(connection);
                lock (_gate)
                {
                    _handlers.Add(handler);
                }

                _ = handler.ContinueWith(
                    done =>
                    {
                        lock (_gate)
                        {
                            _handlers.Remove(done);
                        }
                    },
                    CancellationToken.None,
                    TaskContinuationOptions.ExecuteSynchronously,
                    TaskScheduler.Default);
            }
        }
        catch (Exception e)
        {
            AllReduceLog.AcceptLoopFailed(_logger, e);
        }
    }

    /// <summary>Reads the hello (bounded) and routes the connection. Never throws.</summary>
    private async Task HandleAsync(TensorConnection connection)
    {
        TensorHeader hello;
        try
        {
            using var timeout = new CancellationTokenSource(HelloTimeout, _time);
            using var linked = CancellationTokenSource.CreateLinkedTokenSource(timeout.Token, _stopping.Token);
            using var first = await connection.ReceiveAsync(linked.Token).ConfigureAwait(false);
            hello = first.Header;
        }
        catch (OperationCanceledException)
        {
            await CloseAsync(connection, _stopping.IsCancellationRequested ? "the node's all-reduce routing stopped" : $"no hello within {HelloTimeout}").ConfigureAwait(false);
            return;
        }
        catch (TensorConnectionException)
        {
            await connection.DisposeAsync().ConfigureAwait(false);
            return;
        }

        if (hello.Kind != TensorKind.AllReduceHello)
        {
            await CloseAsync(connection, $"the first tensor of an inbound connection must be an all-reduce hello, not {hello.Kind}").ConfigureAwait(false);
            return;
        }

        Func<TensorConnection, TensorHeader, string?>? target = null;
        string? why;
        lock (_gate)
        {
            why = _disposed != 0 ? "the node's all-reduce routing stopped" : Route(hello, out target);
            if (target is null && why is null)
            {
                AllReduceLog.HelloHeld(_logger, connection.Peer, hello.RunId, hello.Generation, hello.WorkerIndex);
                var held = new Held(connection, hello);
                held.Timer = _time.CreateTimer(_ => Expire(held), null, _holdLimit, Timeout.InfiniteTimeSpan);
                _held.Add(held);
                return;
            }
        }

        if (target is not null)
        {
            Offer(target, connection, hello);
        }
        else
        {
            await CloseAsync(connection, why!).ConfigureAwait(false);
        }
    }

    private void Expire(Held held)
    {
        lock (_gate)
        {
            if (!_held.Remove(held))
            {
                return;
            }
        }

        held.Timer.Dispose();
        Close(held.Connection, $"no group of run {held.Hello.RunId} generation {held.Hello.Generation} formed on this node within {_holdLimit}");
    }

    private void Offer(Func<TensorConnection, TensorHeader, string?> offer, TensorConnection connection, TensorHeader hello)
    {
        string? refused;
        try
        {
            refused = offer(connection, hello);
        }
        catch (Exception e)
        {
            refused = $"the group failed to take it ({e.GetType().Name}: {e.Message})";
        }

        if (refused is not null)
        {
            Close(connection, refused);
        }
    }

    private void Close(TensorConnection connection, string why) => _ = CloseAsync(connection, why);

    /// <summary>Says why with a goodbye (the dialler sees it as the end's detail); never throws.</summary>
    private async Task CloseAsync(TensorConnection connection, string why)
    {
        AllReduceLog.InboundClosed(_logger, connection.Peer, why);
        try
        {
            await connection.CloseAsync(CloseReason.Fit(why), CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception e) when (e is OperationCanceledException or TensorConnectionException or ObjectDisposedException or ArgumentException)
        {
            // Closing is best effort: the connection ends either way.
        }
        finally
        {
            await connection.DisposeAsync().ConfigureAwait(false);
        }
    }

    /// <summary>A hello waiting for its group; the timer closes it when none forms in time.</summary>
    private sealed class Held(TensorConnection connection, TensorHeader hello)
    {
        public TensorConnection Connection { get; } = connection;

        public TensorHeader Hello { get; } = hello;

        public ITimer Timer { get; set; } = null!;
    }

    private sealed class Registration(PeerConnections owner, string runId, int generation, Func<TensorConnection, TensorHeader, string?> offer) : IDisposable
    {
        private int _disposed;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _disposed, 1) == 0)
            {
                owner.Unregister(runId, generation, offer);
            }
        }
    }
}
