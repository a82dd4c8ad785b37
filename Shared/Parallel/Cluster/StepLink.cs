using Akka.Actor;
using Microsoft.Extensions.Logging;
using RnnCluster.DataPlane.Tensors;
using RnnCluster.Training.Parallel;

namespace RnnCluster.Parallel.Cluster;

/// <summary>
/// One end of a worker's data-plane connection as an actor, so the coordinator and the worker actors
/// talk to it as to any actor. Messages it receives go out on the connection; what arrives on the
/// connection goes to <c>deliverTo</c> with this link as the sender. When the connection ends, for any
/// reason, the link stops: on the coordinator's side its watcher (the coordinator) gets
/// <see cref="Terminated"/> at once and re-plans, instead of waiting ~27 s for Akka to remove a crashed node.
/// </summary>
public sealed class StepLink : ReceiveActor
{
    private readonly TensorConnection _connection;
    private readonly IActorRef _deliverTo;
    private readonly string _runId;
    private readonly ulong _incarnation;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stop = new();
    private readonly TimeSpan _testDelay;
    private readonly HashSet<Type> _held = [];
    private IActorRef? _fetchedBy;

    /// <param name="deliverTo">Who gets what arrives (the coordinator, or a worker node's worker).</param>
    /// <param name="incarnation">Written into every header: the worker's incarnation, so a stale connection's messages are recognisable.</param>
    /// <param name="testDelay">Test-only (<c>cluster.test-faults</c>): hold every message this long before sending it.</param>
    public StepLink(TensorConnection connection, IActorRef deliverTo, string runId, ulong incarnation, ILoggerFactory loggerFactory, TimeSpan testDelay = default)
    {
        _testDelay = testDelay;
        ArgumentNullException.ThrowIfNull(connection);
        ArgumentNullException.ThrowIfNull(loggerFactory);
        _connection = connection;
        _deliverTo = deliverTo;
        _runId = runId;
        _incarnation = incarnation;
        _logger = loggerFactory.CreateLogger<StepLink>();
        // A replica copy answers the one who asked for it (the coordinator awaits it inside a step).
        Receive<Arrived>(a => a.Message is ReplicaCopy && _fetchedBy is not null, a =>
        {
            _fetchedBy!.Tell(a.Message, Self);
            _fetchedBy = null;
        });
        Receive<Arrived>(a => _deliverTo.Tell(a.Message, Self));
        ReceiveAsync<FetchReplica>(f =>
        {
            _fetchedBy = Sender;
            return SendAsync(f);
        });
        Receive<Ended>(e =>
        {
            if (e.PeerGone)
            {
                ClusterRunLog.PeerGone(_logger, _connection.Peer.ToString(), e.Why);
            }
            else if (_connection.End?.Reason is ConnectionEndReason.Goodbye or ConnectionEndReason.ClosedHere)
            {
                // Either side meant to close (the run ended, a node is stopping): no warning for that.
                ClusterRunLog.LinkClosed(_logger, _connection.Peer.ToString(), e.Why);
            }
            else
            {
                ClusterRunLog.LinkEnded(_logger, _connection.Peer.ToString(), e.Why);
            }

            Context.Stop(Self);
        });
        // Sending waits for the connection (the actor's only job); a failure ends the link.
        ReceiveAsync<object>(SendAsync);
    }

    /// <summary>What the link tells its parent when it stops because its connection ended.</summary>
    public sealed record Ended(string Why, bool PeerGone);

    protected override void PreStart()
    {
        var self = Self;
        var parent = Context.Parent;
        var stop = _stop.Token;
        _ = Task.Run(() => ReadAsync(self, parent, stop));
    }

    protected override void PostStop()
    {
        // Not disposed: the read loop may still be looking at its token; it ends with the connection.
        _stop.Cancel();
        _ = _connection.DisposeAsync().AsTask();
    }

    private async Task SendAsync(object message)
    {
        using var encoded = StepCodec.Encode(message, _runId, _incarnation);
        var header = encoded.Header;
        try
        {
            if (_testDelay > TimeSpan.Zero)
            {
                if (_held.Add(message.GetType()))
                {
                    ClusterRunLog.Holding(_logger, message.GetType().Name, _testDelay);
                }

                await Task.Delay(_testDelay, _stop.Token).ConfigureAwait(true);
            }

            await _connection.SendAsync(header, encoded.Payload, _stop.Token).ConfigureAwait(true);
        }
        catch (TensorConnectionException e)
        {
            // A send can be the first to see the peer gone (a reset): that is as good a proof as a read.
            Self.Tell(new Ended($"sending {header.Kind} of step {header.Step}: {e.End}", e.End.PeerGone));
        }
        catch (Exception e) when (e is OperationCanceledException or IOException or ObjectDisposedException)
        {
            Self.Tell(new Ended($"sending {header.Kind} of step {header.Step} failed: {e.Message}", false));
        }
    }

    private async Task ReadAsync(IActorRef self, IActorRef parent, CancellationToken stop)
    {
        string why;
        var gone = false;
        try
        {
            while (true)
            {
                using var message = await _connection.ReceiveAsync(stop).ConfigureAwait(false);
                self.Tell(new Arrived(StepCodec.Decode(message)));
            }
        }
        catch (TensorConnectionException e)
        {
            why = e.End.ToString();
            gone = e.End.PeerGone;
        }
        catch (FormatException e)
        {
            why = $"refused a message: {e.Message}";
        }
        catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException)
        {
            // The link stopped first: nobody is waiting for the reason.
            return;
        }

        parent.Tell(new Ended(why, gone), self);
        self.Tell(new Ended(why, gone));
    }

    private sealed record Arrived(object Message);
}
