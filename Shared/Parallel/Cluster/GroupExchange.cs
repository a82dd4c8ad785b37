using Microsoft.Extensions.Logging;
using RnnCluster.DataPlane;
using RnnCluster.DataPlane.AllReduce;
using RnnCluster.DataPlane.Tensors;
using RnnCluster.Training.Parallel;

namespace RnnCluster.Parallel.Cluster;

/// <summary>
/// A worker node's all-reduce group of one generation, as its replica's compute thread uses it
/// (<see cref="IGradientExchange"/>): formed in the background the moment the generation's first command
/// arrives, waited for by the first call. Anything that ends the group (a peer gone, a bad frame, a
/// stall, its disposal by the node) surfaces as <see cref="GradientExchangeAbandonedException"/>.
/// </summary>
internal sealed class GroupExchange : IGradientExchange, IAsyncDisposable
{
    private readonly Task<GradientGroup> _forming;
    private readonly CancellationTokenSource _disposed;

    private GroupExchange(int generation, int rank, int size, Task<GradientGroup> forming, CancellationTokenSource disposed)
    {
        Generation = generation;
        Rank = rank;
        Size = size;
        _forming = forming;
        _disposed = disposed;
    }

    public int Generation { get; }

    public int Rank { get; }

    public int Size { get; }

    /// <summary>The members of a command, in rank order: <c>address#incarnation@host:port</c> each.</summary>
    public IReadOnlyList<string> Members { get; private init; } = [];

    /// <summary>Starts forming the group of <paramref name="exchange"/>'s generation on this node's data plane.</summary>
    /// <exception cref="FormatException">A member's address does not parse.</exception>
    public static GroupExchange Form(
        TensorTransport transport, PeerConnections inbound, string runId, int generation, ExchangeCommand exchange,
        AllReduceOptions options, ILoggerFactory loggerFactory, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(exchange);
        var members = exchange.Members.Select((m, rank) => ParseMember(rank, m)).ToArray();
        var disposed = new CancellationTokenSource();
        var cancel = disposed.Token;
        var forming = Task.Run(() => GradientGroup.FormAsync(transport, inbound, runId, generation, exchange.Rank, members, options, loggerFactory, time, cancel), cancel);
        return new GroupExchange(generation, exchange.Rank, members.Length, forming, disposed) { Members = exchange.Members };
    }

    public void AllReduce(Memory<float> values, long step, int segment) =>
        Run(group => group.AllReduceAsync(values, step, 0, segment, _disposed.Token));

    public async Task AllReduceAsync(Memory<float> values, long step, int segment)
    {
        try
        {
            var group = await _forming.ConfigureAwait(false);
            await group.AllReduceAsync(values, step, 0, segment, _disposed.Token).ConfigureAwait(false);
        }
        catch (AllReduceAbandonedException e)
        {
            throw new GradientExchangeAbandonedException(e.Message, e);
        }
        catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or TensorConnectionException)
        {
            throw new GradientExchangeAbandonedException($"the all-reduce group of generation {Generation} closed: {e.Message}", e);
        }
    }

    public float[][] AllGather(float[] mine, long step)
    {
        float[][] all = [];
        Run(async group => all = await group.AllGatherAsync(mine, step, 0, _disposed.Token).ConfigureAwait(false));
        return all;
    }

    public async ValueTask DisposeAsync()
    {
        await _disposed.CancelAsync().ConfigureAwait(false);
        try
        {
            var group = await _forming.ConfigureAwait(false);
            await group.DisposeAsync().ConfigureAwait(false);
        }
        catch (Exception e) when (e is AllReduceAbandonedException or OperationCanceledException or TensorConnectionException or InvalidOperationException)
        {
            // It never formed: nothing to close.
        }

        _disposed.Dispose();
    }

    /// <summary>Blocks the compute thread on one collective; every way it can fail becomes an abandonment.</summary>
    private void Run(Func<GradientGroup, Task> call)
    {
        try
        {
            var group = _forming.GetAwaiter().GetResult();
            call(group).GetAwaiter().GetResult();
        }
        catch (AllReduceAbandonedException e)
        {
            throw new GradientExchangeAbandonedException(e.Message, e);
        }
        catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or TensorConnectionException)
        {
            throw new GradientExchangeAbandonedException($"the all-reduce group of generation {Generation} closed: {e.Message}", e);
        }
    }

    /// <summary><c>akka.tcp://system@host:port#incarnation@dphost:dpport</c>: the address itself holds an '@', so split at the last ones.</summary>
    private static GroupMember ParseMember(int rank, string member)
    {
        var at = member.LastIndexOf('@');
        var hash = at > 0 ? member.LastIndexOf('#', at) : -1;
        if (hash <= 0 || !ulong.TryParse(member.AsSpan(hash + 1, at - hash - 1), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var incarnation))
        {
            throw new FormatException($"all-reduce member {rank} '{member}' is not address#incarnation@host:port");
        }

        return new GroupMember(rank, new NodeIdentity(member[..hash], incarnation), DataPlaneEndPoint.Parse(member[(at + 1)..]));
    }
}
