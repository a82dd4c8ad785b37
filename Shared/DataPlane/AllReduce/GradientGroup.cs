using RnnCluster.Common;
using System.Buffers;
using System.Numerics;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using RnnCluster.DataPlane.Tensors;

namespace RnnCluster.DataPlane.AllReduce;

/// <summary>
/// The workers of one generation, connected in a full mesh on the tensor data plane (one
/// <see cref="TensorConnection"/> each way per pair: every member dials every other, receives on what it
/// dialled and sends on what it accepted, so bulk data always flows listener → dialer, the direction a
/// WebSocket does not mask — client frames are masked byte by byte, which measured 2-3x slower), summing gradients among
/// themselves.
/// </summary>
/// <remarks>
/// <para>
/// <see cref="AllReduceAsync"/> is a direct reduce-scatter plus all-gather, per bucket of
/// <see cref="AllReduceOptions.BucketFloats"/>: rank r owns the r-th of W contiguous shards of each
/// bucket; every other rank sends it its part of that shard; the owner sums the W contributions in rank
/// order (contribution 0 copied, then 1, 2, … added, as <c>GradientReducer</c> does in one process) and
/// sends the sum to everyone. Each member sends and receives about 2(W-1)/W of the buffer, like a ring,
/// and every element is summed exactly once, by one member, in the same order as in-process training,
/// so every member ends with the same bits and a cluster run is bit-identical to an in-process one.
/// A ring all-reduce would move the same bytes in fewer, larger messages per link, but it sums each
/// chunk starting at a different rank ((c2 + c3) + c0 …), which changes the rounding per chunk: that
/// is why it is not used. The price of the mesh is W-1 connections per member and W-1 messages per
/// bucket per phase, which is fine for the tens of workers this cluster runs.
/// </para>
/// <para>
/// One reader per connection takes every frame off it as it arrives and files it by (kind, step,
/// attempt, segment): to the call waiting for it, or held until that call starts here (a faster peer
/// may be ahead), or dropped with a log line when it belongs to a call that has ended or to an older
/// step or attempt. Nothing stale is ever summed. Several calls with distinct segments may run at once.
/// </para>
/// <para>
/// A peer whose connection ends, that sends a frame that does not fit (or one its connection refuses,
/// such as a failed checksum), or from which nothing arrives for <see cref="AllReduceOptions.TransferTimeout"/>
/// while a call waits on it, abandons the group: every pending and later call throws
/// <see cref="AllReduceAbandonedException"/> naming it, and the connections are closed so the other
/// members learn of it at once. A call cancelled mid-transfer abandons the group too (its peers cannot
/// finish without it). The caller then forms a new generation.
/// </para>
/// </remarks>
public sealed class GradientGroup : IAsyncDisposable
{
    private const string SegmentKey = "segment";
    private const string BucketKey = "bucket";
    private const string OffsetKey = "offset";
    private const string LengthKey = "length";
    private const string TotalKey = "total";
    private const string ToKey = "to";

    private readonly TensorTransport _transport;
    private readonly string _runId;
    private readonly IReadOnlyList<GroupMember> _members;
    private readonly AllReduceOptions _options;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly Peer?[] _peers;
    private readonly Lock _gate = new();
    private readonly Dictionary<OpKey, Operation> _active = [];
    private readonly Dictionary<OpKey, List<Arrival>> _early = [];
    private readonly HashSet<OpKey> _finished = [];
    private readonly CancellationTokenSource _lifetime = new();
    private readonly TaskCompletionSource _connected = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private (long Step, int Attempt) _latest = (-1, int.MinValue);
    private AllReduceAbandonedException? _dead;
    private IDisposable? _registration;
    private ITimer? _watchdog;
    private int _connectedPeers;
    private long _bytesSent;
    private long _bytesReceived;
    private int _disposed;

    private GradientGroup(
        TensorTransport transport, string runId, int generation, int rank, IReadOnlyList<GroupMember> members, AllReduceOptions options, ILoggerFactory loggerFactory, TimeProvider time)
    {
        _transport = transport;
        _runId = runId;
        Generation = generation;
        Rank = rank;
        _members = members;
        _options = options;
        _logger = loggerFactory.CreateLogger<GradientGroup>();
        _time = time;
        _peers = new Peer?[members.Count];
        for (var r = 0; r < members.Count; r++)
        {
            _peers[r] = r == rank ? null : new Peer(members[r]);
        }
    }

    public int Rank { get; }

    public int Size => _members.Count;

    public int Generation { get; }

    /// <summary>Payload bytes this member has sent (as they travel: halved by bf16), for the benchmark.</summary>
    public long BytesSent => Interlocked.Read(ref _bytesSent);

    /// <summary>Of <see cref="BytesSent"/>, those that went through shared memory to peers on this host (<see cref="SharedMemoryOptions"/>).</summary>
    public long SharedBytesSent => _peers.Sum(p => p?.Connection?.SharedBytesSent ?? 0);

    /// <summary>Payload bytes this member has received.</summary>
    public long BytesReceived => Interlocked.Read(ref _bytesReceived);

    /// <summary>Why the group was abandoned; null while it works.</summary>
    public AllReduceAbandonedException? Abandoned
    {
        get
        {
            lock (_gate)
            {
                return _dead;
            }
        }
    }

    /// <summary>
    /// Connects this member to every other member of <paramref name="members"/> for <paramref name="generation"/>:
    /// dials every other member (and says hello), and waits for every other member's hello through
    /// <paramref name="inbound"/>. Returns once every connection is up, so each member may start calling at once.
    /// </summary>
    /// <param name="members">Ranks 0 … W-1 in order; <paramref name="rank"/>'s member is this node (<paramref name="transport"/>'s identity).</param>
    /// <exception cref="AllReduceAbandonedException">A member refused the hello, could not be reached, or did not connect within <see cref="AllReduceOptions.FormTimeout"/>.</exception>
    public static async Task<GradientGroup> FormAsync(
        TensorTransport transport, PeerConnections inbound, string runId, int generation, int rank, IReadOnlyList<GroupMember> members,
        AllReduceOptions options, ILoggerFactory loggerFactory, TimeProvider time, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(transport);
        ArgumentNullException.ThrowIfNull(inbound);
        ArgumentException.ThrowIfNullOrWhiteSpace(runId);
        ArgumentNullException.ThrowIfNull(members);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(loggerFactory);
        ArgumentNullException.ThrowIfNull(time);
        options.Validate();
        if (runId.Length > TensorHeader.MaxNameLength)
        {
            throw new ArgumentException($"The run id has {runId.Length} characters; at most {TensorHeader.MaxNameLength} fit a tensor header.", nameof(runId));
        }

        ArgumentOutOfRangeException.ThrowIfZero(members.Count, nameof(members));
        ArgumentOutOfRangeException.ThrowIfNegative(rank);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(rank, members.Count);
        for (var r = 0; r < members.Count; r++)
        {
            if (members[r] is null || members[r].Rank != r)
            {
                throw new ArgumentException($"Member {r} must have rank {r}: members are listed in rank order, 0 to {members.Count - 1}.", nameof(members));
            }
        }

        if (members[rank].Identity != transport.Identity)
        {
            throw new ArgumentException($"Member {rank} is {members[rank].Identity}, but this node's transport is {transport.Identity}.", nameof(members));
        }

        cancellationToken.ThrowIfCancellationRequested();
        var group = new GradientGroup(transport, runId, generation, rank, [.. members], options, loggerFactory, time);
        if (members.Count == 1)
        {
            group._connected.TrySetResult();
            AllReduceLog.Formed(group._logger, runId, generation, rank, 1);
            return group;
        }

        using var formTimeout = new CancellationTokenSource(options.FormTimeout, time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, formTimeout.Token, group._lifetime.Token);
        Task[] dials = [];
        try
        {
            group._registration = inbound.Register(runId, generation, group.OfferInbound);
            dials = [.. group._peers.Where(p => p is not null && (!options.OneConnectionPerPair || p.Rank < rank)).Select(p => group.DialAsync(p!, linked.Token))];
            await group._connected.Task.WaitAsync(linked.Token).ConfigureAwait(false);

            // Whether each peer takes this member's tensors through shared memory is settled before the first call,
            // so a step's transport does not depend on how fast the answer came back.
            Task[] answers = [.. group._peers.Where(p => p?.Connection is not null).Select(p => p!.Connection!.SharedMemoryAnswered)];
            await Task.WhenAll(answers).WaitAsync(linked.Token).ConfigureAwait(false);
        }
        catch (Exception e)
        {
            if (cancellationToken.IsCancellationRequested)
            {
                group.Abandon(rank, AbandonReason.Local, "forming was cancelled", e, log: false);
            }
            else if (formTimeout.IsCancellationRequested && group.Abandoned is null)
            {
                var missing = group._peers.FirstOrDefault(p => p is not null && (p.Connection is null || (!options.OneConnectionPerPair && p.Incoming is null)));
                if (missing is not null)
                {
                    group.Abandon(missing.Rank, AbandonReason.Timeout, $"not connected within {options.FormTimeout} (the group formed {group._connectedPeers} of {group.ConnectionsWanted} connections)", e);
                }
                else
                {
                    // Connected, but a peer did not answer this member's shared-memory offer: alive yet not reading.
                    var silent = group._peers.FirstOrDefault(p => p?.Connection is { SharedMemoryAnswered.IsCompleted: false });
                    group.Abandon(silent?.Rank ?? rank, AbandonReason.Timeout, $"connected, but no answer to the shared-memory offer within {options.FormTimeout}", e);
                }
            }
            else if (group.Abandoned is null)
            {
                group.Abandon(rank, AbandonReason.Local, $"forming failed: {e.Message}", e);
            }

            await Task.WhenAll(dials).ConfigureAwait(false);
            var dead = group.Abandoned!;
            await group.DisposeAsync().ConfigureAwait(false);
            cancellationToken.ThrowIfCancellationRequested();
            throw dead.Copy();
        }

        await Task.WhenAll(dials).ConfigureAwait(false);
        var period = TimeSpan.FromTicks(Math.Max(options.TransferTimeout.Ticks / 8, TimeSpan.TicksPerMillisecond));
        group._watchdog = time.CreateTimer(_ => group.Watch(), null, period, period);
        AllReduceLog.Formed(group._logger, runId, generation, rank, members.Count);
        return group;
    }

    /// <summary>
    /// Sums <paramref name="buffer"/> element-wise over all members, in place: afterwards every member
    /// holds the same bits, the rank-order sum. Several calls with distinct <paramref name="segment"/>
    /// ids may be in flight at once (so a caller can reduce the upper layers' gradients while backward
    /// still computes the lower ones); every member must make the same calls with buffers of the same length.
    /// </summary>
    /// <exception cref="AllReduceAbandonedException">The group is (or became) abandoned.</exception>
    /// <exception cref="OperationCanceledException">Cancelled; if anything had been sent, the group is abandoned too.</exception>
    public async Task AllReduceAsync(Memory<float> buffer, long step, int attempt, int segment, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        ThrowIfAbandoned();
        if (Size == 1 || buffer.IsEmpty)
        {
            return;
        }

        var layout = new ReduceLayout(buffer.Length, _options.BucketFloats, Size);
        var mine = layout.BucketsWithShard(Rank);
        var expected = new int[Size];
        var independent = new int[Size];
        for (var r = 0; r < Size; r++)
        {
            // From each peer: its contribution to each of this member's shards, and its sum of each of its own.
            expected[r] = r == Rank ? 0 : mine + layout.BucketsWithShard(r);
            independent[r] = r == Rank ? 0 : mine;
        }

        var op = Start(new OpKey(OpKind.Reduce, step, attempt, segment), expected, independent);
        await RunAsync(op, token => ReduceAsync(op, buffer, layout, token), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Every member's small vector (stream states, loss, token counts), in rank order; lengths may differ per member.</summary>
    /// <exception cref="AllReduceAbandonedException">The group is (or became) abandoned.</exception>
    public async Task<float[][]> AllGatherAsync(ReadOnlyMemory<float> mine, long step, int attempt, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        ThrowIfAbandoned();
        var result = new float[Size][];
        result[Rank] = mine.ToArray();
        if (Size == 1)
        {
            return result;
        }

        var expected = new int[Size];
        Array.Fill(expected, 1);
        expected[Rank] = 0;
        var op = Start(new OpKey(OpKind.Gather, step, attempt, 0), expected, expected);
        await RunAsync(op, token => GatherAsync(op, mine, result, token), cancellationToken).ConfigureAwait(false);
        return result;
    }

    /// <summary>Closes every connection (peers see a goodbye) and fails pending calls; later calls throw <see cref="AllReduceAbandonedException"/>.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        Abandon(Rank, AbandonReason.Local, "the group was disposed", null, log: false);
        _registration?.Dispose();
        _watchdog?.Dispose();
        var peers = _peers.Where(p => p is not null).Select(p => p!).ToList();
        await Task.WhenAll(peers.SelectMany(p => new[] { p.Connection, p.Incoming }).Select(c => c is not null ? c.DisposeAsync().AsTask() : Task.CompletedTask)).ConfigureAwait(false);
        await Task.WhenAll(peers.SelectMany(p => new[] { p.Reading, p.ReadingIncoming })).ConfigureAwait(false);
        List<Arrival> early;
        lock (_gate)
        {
            early = [.. _early.Values.SelectMany(a => a)];
            _early.Clear();
        }

        foreach (var arrival in early)
        {
            arrival.Message.Dispose();
        }
    }

    public override string ToString() => $"all-reduce group of run {_runId} generation {Generation}, rank {Rank} of {Size}";

    // ---- the collectives ----

    private async Task ReduceAsync(Operation op, Memory<float> buffer, ReduceLayout layout, CancellationToken token)
    {
        var key = op.Key;
        var bf16 = _options.Compression == GradientCompression.BFloat16;
        var sends = new List<Task>();
        foreach (var peer in Peers())
        {
            sends.Add(SendContributionsAsync(peer, buffer, layout, key, token));
        }

        var contributions = new Dictionary<int, TensorMessage?[]>();
        var remaining = op.Expected.Sum();
        try
        {
            while (remaining > 0)
            {
                var (from, message) = await op.Inbox.Reader.ReadAsync(token).ConfigureAwait(false);
                remaining--;
                var header = message.Header;
                var bucket = Place(from, message, layout, bf16, buffer.Length, out var owner);
                if (header.Kind == TensorKind.AllReduceContribution)
                {
                    if (owner != Rank)
                    {
                        message.Dispose();
                        throw BadFrame(from, $"it sent a contribution to shard {owner} of bucket {bucket} to rank {Rank}");
                    }

                    if (!contributions.TryGetValue(bucket, out var parts))
                    {
                        parts = new TensorMessage?[Size];
                        contributions[bucket] = parts;
                    }

                    if (parts[from] is not null)
                    {
                        message.Dispose();
                        throw BadFrame(from, $"it sent its contribution to bucket {bucket} twice");
                    }

                    parts[from] = message;
                    if (parts.Count(p => p is not null) == Size - 1)
                    {
                        contributions.Remove(bucket);
                        var (start, length) = layout.Shard(bucket, Rank);
                        try
                        {
                            SumInRankOrder(buffer.Span.Slice(start, length), parts, bf16);
                        }
                        finally
                        {
                            foreach (var part in parts)
                            {
                                part?.Dispose();
                            }
                        }

                        sends.Add(SendSumAsync(buffer.Slice(start, length), layout, bucket, key, token));
                    }
                }
                else
                {
                    using (message)
                    {
                        if (owner != from)
                        {
                            throw BadFrame(from, $"it sent the sum of shard {owner} of bucket {bucket}, which rank {owner} owns");
                        }

                        // Rank `from` sums this shard only after it has all of this member's contribution to it, so
                        // the send that read that contribution from the buffer is done before the sum lands there.
                        var (start, length) = layout.Shard(bucket, from);
                        var target = buffer.Span.Slice(start, length);
                        if (bf16)
                        {
                            BFloat16.Unpack(message.Payload.Span, target);
                        }
                        else
                        {
                            message.Payload.Span.CopyTo(target);
                        }
                    }
                }
            }

            await Task.WhenAll(sends).ConfigureAwait(false);
        }
        finally
        {
            foreach (var part in contributions.Values.SelectMany(p => p))
            {
                part?.Dispose();
            }

            // A failed call waits for its sends, which read the caller's buffer in place: they end promptly, because
            // every failure either abandons the group (cancelling its lifetime token) or cancels the call's token.
            await Task.WhenAll(sends).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
    }

    private async Task GatherAsync(Operation op, ReadOnlyMemory<float> mine, float[][] result, CancellationToken token)
    {
        var header = Header(TensorKind.AllGather, op.Key) with { Values = new Dictionary<string, double> { [LengthKey] = mine.Length } };
        var sends = Peers().Select(p => SendAsync(p, header, mine, token)).ToList();
        try
        {
            for (var remaining = Size - 1; remaining > 0; remaining--)
            {
                var (from, message) = await op.Inbox.Reader.ReadAsync(token).ConfigureAwait(false);
                using (message)
                {
                    if (message.Header.Kind != TensorKind.AllGather)
                    {
                        throw BadFrame(from, $"it sent {message.Header.Kind} for an all-gather");
                    }

                    if (result[from] is not null)
                    {
                        throw BadFrame(from, "it sent its all-gather vector twice");
                    }

                    result[from] = message.Payload.ToArray();
                }
            }

            await Task.WhenAll(sends).ConfigureAwait(false);
        }
        finally
        {
            await Task.WhenAll(sends).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
    }

    /// <summary>
    /// Sums this member's shard in place: contribution 0, then 1, 2, … added, the own one taken from the
    /// buffer. With bf16 every contribution is first rounded (the own one too, so the owner adds the same
    /// values its peers' contributions were reduced to), and the sum is rounded once more at the end, so
    /// the owner holds exactly the bits it sends.
    /// </summary>
    private void SumInRankOrder(Span<float> own, TensorMessage?[] parts, bool bf16)
    {
        if (bf16)
        {
            BFloat16.RoundInPlace(own);
        }

        var length = own.Length;
        var scratch = bf16 ? ArrayPool<float>.Shared.Rent(length) : null;
        var accumulator = Rank == 0 ? null : ArrayPool<float>.Shared.Rent(length);
        try
        {
            // Rank 0 sums straight into the buffer, where contribution 0 already is; the others need their own
            // contribution until its turn, so they sum aside and copy back.
            var sum = accumulator is null ? own : accumulator.AsSpan(0, length);
            for (var r = 0; r < Size; r++)
            {
                ReadOnlySpan<float> values;
                if (r == Rank)
                {
                    values = own;
                }
                else if (bf16)
                {
                    BFloat16.Unpack(parts[r]!.Payload.Span, scratch.AsSpan(0, length));
                    values = scratch.AsSpan(0, length);
                }
                else
                {
                    values = parts[r]!.Payload.Span;
                }

                if (r == 0)
                {
                    if (Rank != 0)
                    {
                        values.CopyTo(sum);
                    }
                }
                else
                {
                    FloatSums.Add(sum, values);
                }
            }

            if (accumulator is not null)
            {
                sum.CopyTo(own);
            }

            if (bf16)
            {
                BFloat16.RoundInPlace(own);
            }
        }
        finally
        {
            if (scratch is not null)
            {
                ArrayPool<float>.Shared.Return(scratch);
            }

            if (accumulator is not null)
            {
                ArrayPool<float>.Shared.Return(accumulator);
            }
        }
    }

    /// <summary>Checks a reduce frame against the layout; returns its bucket and (in <paramref name="shard"/>) whose shard it is.</summary>
    private int Place(int from, TensorMessage message, ReduceLayout layout, bool bf16, int total, out int shard)
    {
        var h = message.Header;
        if (!TryInt(h, BucketKey, out var bucket) || !TryInt(h, OffsetKey, out var offset) || !TryInt(h, LengthKey, out var length) || !TryInt(h, TotalKey, out var theirs))
        {
            message.Dispose();
            throw BadFrame(from, $"its {h.Kind} frame lacks the bucket, offset, length or total");
        }

        if (theirs != total)
        {
            message.Dispose();
            throw BadFrame(from, $"it reduces a buffer of {theirs} floats, this member one of {total} (segment {SegmentOf(h)})");
        }

        shard = -1;
        if (bucket >= 0 && bucket < layout.Buckets)
        {
            for (var r = 0; r < Size; r++)
            {
                if (layout.Shard(bucket, r) == (offset, length) && length > 0)
                {
                    shard = r;
                    break;
                }
            }
        }

        var wire = bf16 ? BFloat16.PackedLength(length) : length;
        if (shard < 0 || message.Length != wire)
        {
            message.Dispose();
            throw BadFrame(from, $"its {h.Kind} frame (bucket {bucket}, offset {offset}, length {length}, {message.Length} floats) matches no shard of the {layout.Buckets} buckets");
        }

        return bucket;
    }

    private async Task SendContributionsAsync(Peer peer, Memory<float> buffer, ReduceLayout layout, OpKey key, CancellationToken token)
    {
        // One bucket after another, so the owner gets its early buckets first; the peers' senders run side by side.
        for (var bucket = 0; bucket < layout.Buckets; bucket++)
        {
            var (start, length) = layout.Shard(bucket, peer.Rank);
            if (length == 0)
            {
                continue;
            }

            var header = ReduceHeader(TensorKind.AllReduceContribution, key, bucket, start, length, layout.Length);
            await SendShardAsync([peer], header, buffer.Slice(start, length), token).ConfigureAwait(false);
        }
    }

    private Task SendSumAsync(Memory<float> sum, ReduceLayout layout, int bucket, OpKey key, CancellationToken token)
    {
        var (start, length) = layout.Shard(bucket, Rank);
        var header = ReduceHeader(TensorKind.AllReduceSum, key, bucket, start, length, layout.Length);
        return SendShardAsync(Peers(), header, sum, token);
    }

    /// <summary>Sends a shard to the peers at once: as it lies in the buffer (fp32), or packed to bf16 once for all of them.</summary>
    private async Task SendShardAsync(IReadOnlyList<Peer> peers, TensorHeader header, Memory<float> shard, CancellationToken token)
    {
        if (_options.Compression != GradientCompression.BFloat16)
        {
            await Task.WhenAll(peers.Select(p => SendAsync(p, header, shard, token))).ConfigureAwait(false);
            return;
        }

        var packedLength = BFloat16.PackedLength(shard.Length);
        var packed = ArrayPool<float>.Shared.Rent(packedLength);
        try
        {
            BFloat16.Pack(shard.Span, packed.AsSpan(0, packedLength));
            await Task.WhenAll(peers.Select(p => SendAsync(p, header, packed.AsMemory(0, packedLength), token))).ConfigureAwait(false);
        }
        finally
        {
            ArrayPool<float>.Shared.Return(packed);
        }
    }

    /// <summary>One frame to one peer; a connection that has ended abandons the group, naming the peer.</summary>
    private async Task SendAsync(Peer peer, TensorHeader header, ReadOnlyMemory<float> payload, CancellationToken token)
    {
        try
        {
            await peer.Connection!.SendAsync(header, payload, token).ConfigureAwait(false);
            Interlocked.Add(ref _bytesSent, (long)payload.Length * sizeof(float));
        }
        catch (TensorConnectionException e)
        {
            ConnectionLost(peer, e);
            throw Abandoned!.Copy();
        }
    }

    // ---- calls: bookkeeping and failure mapping ----

    private Operation Start(OpKey key, int[] expected, int[] independent)
    {
        List<Arrival> stale = [];
        Operation op;
        string? bad = null;
        var badRank = -1;
        lock (_gate)
        {
            if (_dead is { } dead)
            {
                throw dead.Copy();
            }

            if (_active.ContainsKey(key) || _finished.Contains(key))
            {
                throw new InvalidOperationException($"{key} was already called on this group; each (step, attempt, segment) is reduced once.");
            }

            var at = (key.Step, key.Attempt);
            if (at.CompareTo(_latest) < 0)
            {
                throw new InvalidOperationException($"{key} is older than step {_latest.Step} attempt {_latest.Attempt}, which a call on this group has already started.");
            }

            if (at.CompareTo(_latest) > 0)
            {
                // A newer step or attempt: whatever is held or remembered for older ones is stale now.
                _latest = at;
                _finished.Clear();
                foreach (var old in _early.Keys.Where(k => (k.Step, k.Attempt).CompareTo(at) < 0).ToList())
                {
                    stale.AddRange(_early[old]);
                    _early.Remove(old);
                }
            }

            op = new Operation(key, expected, independent);
            if (_early.Remove(key, out var held))
            {
                foreach (var arrival in held)
                {
                    if (op.Remaining[arrival.Rank] == 0)
                    {
                        (bad, badRank) = ($"it sent more {key} frames than the call takes", arrival.Rank);
                        arrival.Message.Dispose();
                        continue;
                    }

                    op.Filed(arrival);
                }
            }

            var now = _time.GetTimestamp();
            foreach (var peer in Peers())
            {
                if (op.Remaining[peer.Rank] > 0)
                {
                    // The silence clock of a peer starts when something is first awaited from it, not at its last frame.
                    if (peer.Expecting == 0)
                    {
                        peer.LastProgress = now;
                    }

                    peer.Expecting += op.Remaining[peer.Rank];
                }
            }

            _active[key] = op;
        }

        foreach (var arrival in stale)
        {
            DropStale(arrival, "a newer step or attempt has started here");
        }

        if (bad is not null)
        {
            Abandon(badRank, AbandonReason.BadFrame, bad, null);
        }

        return op;
    }

    private void End(Operation op)
    {
        lock (_gate)
        {
            _active.Remove(op.Key);
            if ((op.Key.Step, op.Key.Attempt) == _latest)
            {
                _finished.Add(op.Key);
            }

            foreach (var peer in Peers())
            {
                peer.Expecting -= op.Remaining[peer.Rank];
                op.Remaining[peer.Rank] = 0;
            }

            op.Inbox.Writer.TryComplete();
        }

        while (op.Inbox.Reader.TryRead(out var left))
        {
            left.Message.Dispose();
        }
    }

    /// <summary>Runs a call's body; whatever goes wrong comes out as the group's abandonment, or as the caller's cancellation.</summary>
    private async Task RunAsync(Operation op, Func<CancellationToken, Task> body, CancellationToken cancellationToken)
    {
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _lifetime.Token);
        try
        {
            // A call whose frames all arrived and went out is complete even if the group dies a moment later.
            await body(linked.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not AllReduceAbandonedException)
        {
            if (cancellationToken.IsCancellationRequested)
            {
                // The peers cannot finish this call without this member: tell them now rather than after their timeout.
                Abandon(Rank, AbandonReason.Local, $"{op.Key} was cancelled on rank {Rank}", e);
                throw new OperationCanceledException($"{op.Key} was cancelled; the group is abandoned.", e, cancellationToken);
            }

            if (Abandoned is { } dead)
            {
                throw dead.Copy();
            }

            Abandon(Rank, AbandonReason.Local, $"{op.Key} failed on rank {Rank}: {e.Message}", e);
            throw;
        }
        finally
        {
            End(op);
        }
    }

    private void ThrowIfAbandoned()
    {
        if (Abandoned is { } dead)
        {
            throw dead.Copy();
        }
    }

    /// <summary>Marks the group dead (the first cause wins), fails every pending call, and closes the connections so the peers learn at once.</summary>
    private void Abandon(int peerRank, AbandonReason reason, string detail, Exception? cause, bool log = true)
    {
        List<Operation> pending;
        AllReduceAbandonedException dead;
        lock (_gate)
        {
            if (_dead is not null)
            {
                return;
            }

            dead = new AllReduceAbandonedException(peerRank, _members[peerRank].Identity, Generation, _latest.Step, reason, detail, cause);
            _dead = dead;
            pending = [.. _active.Values];
        }

        if (log)
        {
            AllReduceLog.Abandoned(_logger, Generation, dead.Step, peerRank, dead.Peer!, reason, detail);
        }

        foreach (var op in pending)
        {
            op.Inbox.Writer.TryComplete();
        }

        _connected.TrySetException(dead);
        _ = _connected.Task.Exception; // observed: FormAsync reports it its own way
        _watchdog?.Dispose();
        _lifetime.Cancel();
        var why = $"all-reduce group of generation {Generation} abandoned by rank {Rank}: peer rank {peerRank}, {reason}";
        foreach (var peer in Peers())
        {
            foreach (var connection in new[] { peer.Connection, peer.Incoming })
            {
                if (connection is not null)
                {
                    _ = CloseQuietlyAsync(connection, why);
                }
            }
        }
    }

    private static async Task CloseQuietlyAsync(TensorConnection connection, string why)
    {
        try
        {
            await connection.CloseAsync(CloseReason.Fit(why), CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception e) when (e is OperationCanceledException or TensorConnectionException or ObjectDisposedException or ArgumentException)
        {
            // The connection ends either way.
        }
    }

    private AllReduceAbandonedException BadFrame(int from, string detail)
    {
        Abandon(from, AbandonReason.BadFrame, detail, null);
        return Abandoned!.Copy();
    }

    /// <summary>
    /// A connection ended under a call or a reader. When this side ended it (a cancelled send, disposal) the
    /// fault is this member's, not the peer's; otherwise the peer is named.
    /// </summary>
    private void ConnectionLost(Peer peer, TensorConnectionException error)
    {
        var end = error.End;
        if (end.Reason == ConnectionEndReason.ClosedHere)
        {
            Abandon(Rank, AbandonReason.Local, $"the connection to rank {peer.Rank} was closed here: {end.Detail}", error);
        }
        else
        {
            Abandon(peer.Rank, Classify(end), $"{end.Reason}: {end.Detail}", error);
        }
    }

    private static AbandonReason Classify(ConnectionEnd end) =>
        end.Reason is ConnectionEndReason.FrameRefused or ConnectionEndReason.RefusedByPeer ? AbandonReason.BadFrame
        : end.Reason == ConnectionEndReason.Stalled ? AbandonReason.Timeout
        : AbandonReason.ConnectionEnded;

    /// <summary>The watchdog: a peer awaited by some call that has sent nothing for the transfer timeout abandons the group.</summary>
    private void Watch()
    {
        Peer? silent = null;
        lock (_gate)
        {
            if (_dead is not null)
            {
                return;
            }

            var late = Peers().Where(p => p.Expecting > 0 && _time.GetElapsedTime(p.LastProgress) >= _options.TransferTimeout).ToList();
            if (late.Count == 0)
            {
                return;
            }

            silent = late.FirstOrDefault(p => _active.Values.Any(op => op.Independent[p.Rank] > 0)) ?? late[0];
        }

        Abandon(silent.Rank, AbandonReason.Timeout, $"nothing arrived from it for {_options.TransferTimeout} while {silent.Expecting} frame(s) were awaited", null);
    }

    // ---- connections ----

    private async Task DialAsync(Peer peer, CancellationToken token)
    {
        TensorConnection? connection = null;
        try
        {
            connection = await _transport.ConnectAsync(peer.Member.EndPoint, peer.Member.Identity, token).ConfigureAwait(false);
            var hello = Header(TensorKind.AllReduceHello, new OpKey(OpKind.Reduce, 0, 0, 0)) with { Values = new Dictionary<string, double> { [ToKey] = peer.Rank } };
            await connection.SendAsync(hello, ReadOnlyMemory<float>.Empty, token).ConfigureAwait(false);
            using var welcome = await connection.ReceiveAsync(token).ConfigureAwait(false);
            var h = welcome.Header;
            if (h.Kind != TensorKind.AllReduceWelcome || !string.Equals(h.RunId, _runId, StringComparison.Ordinal) || h.Generation != Generation || h.WorkerIndex != peer.Rank)
            {
                Abandon(peer.Rank, AbandonReason.BadFrame, $"it answered the hello with {h.Kind} of run {h.RunId} generation {h.Generation} rank {h.WorkerIndex}", null);
                return;
            }

            if (_options.OneConnectionPerPair ? Attach(peer, connection) : AttachIncoming(peer, connection))
            {
                connection = null;
                Connected();
            }
        }
        catch (TensorConnectionException e)
        {
            // A goodbye in answer to a hello is the peer's routing refusing it (a stale generation, say).
            var reason = e.End.Reason == ConnectionEndReason.Goodbye ? AbandonReason.Refused : Classify(e.End);
            Abandon(peer.Rank, reason, e.End.Reason == ConnectionEndReason.Goodbye ? $"it closed the connection after the hello: {e.End.Detail}" : e.End.Detail, e);
        }
        catch (OperationCanceledException)
        {
            // Forming was cancelled, timed out, or the group was abandoned; FormAsync reports which.
        }
        catch (Exception e)
        {
            Abandon(peer.Rank, AbandonReason.ConnectionEnded, $"dialling it failed: {e.Message}", e);
        }
        finally
        {
            if (connection is not null)
            {
                await connection.DisposeAsync().ConfigureAwait(false);
            }
        }
    }

    /// <summary>PeerConnections' hand-over of an inbound connection: null when taken, else why not.</summary>
    private string? OfferInbound(TensorConnection connection, TensorHeader hello)
    {
        var from = hello.WorkerIndex;
        if (from == Rank || from < 0 || from >= Size || (_options.OneConnectionPerPair && from < Rank))
        {
            return $"rank {from} may not dial rank {Rank} in a group of {Size}{(_options.OneConnectionPerPair ? " (the higher rank dials)" : "")}";
        }

        if (!hello.Values.TryGetValue(ToKey, out var to) || to != Rank)
        {
            return $"the hello is for rank {to}, this node is rank {Rank}";
        }

        var peer = _peers[from]!;
        if (peer.Member.Identity != connection.Peer)
        {
            return $"rank {from} is {peer.Member.Identity}, not {connection.Peer}";
        }

        if (!Attach(peer, connection))
        {
            return Abandoned is null ? $"rank {from} is already connected" : "the group has ended";
        }

        _ = WelcomeAsync(peer, connection);
        return null;
    }

    private async Task WelcomeAsync(Peer peer, TensorConnection connection)
    {
        try
        {
            var welcome = Header(TensorKind.AllReduceWelcome, new OpKey(OpKind.Reduce, 0, 0, 0));
            await connection.SendAsync(welcome, ReadOnlyMemory<float>.Empty, _lifetime.Token).ConfigureAwait(false);
            Connected();
        }
        catch (TensorConnectionException e)
        {
            ConnectionLost(peer, e);
        }
        catch (OperationCanceledException)
        {
            // Abandoned meanwhile.
        }
    }

    /// <summary>The connection this member dialled to the peer: what it receives on. False (nothing taken) when the group is dead.</summary>
    private bool AttachIncoming(Peer peer, TensorConnection connection)
    {
        lock (_gate)
        {
            if (_dead is not null || peer.Incoming is not null)
            {
                return false;
            }

            peer.Incoming = connection;
            peer.ReadingIncoming = Task.Run(() => ReadAsync(peer, connection));
            return true;
        }
    }

    /// <summary>The connection the peer dialled (this member sends on it) and its reader; false (nothing taken) when the peer has one or the group is dead.</summary>
    private bool Attach(Peer peer, TensorConnection connection)
    {
        lock (_gate)
        {
            if (_dead is not null || peer.Connection is not null)
            {
                return false;
            }

            peer.Connection = connection;
            peer.Reading = Task.Run(() => ReadAsync(peer, connection));
            return true;
        }
    }

    /// <summary>Connections a formed group holds: one or two per pair.</summary>
    private int ConnectionsWanted => (_options.OneConnectionPerPair ? 1 : 2) * (Size - 1);

    private void Connected()
    {
        if (Interlocked.Increment(ref _connectedPeers) == ConnectionsWanted)
        {
            _connected.TrySetResult();
        }
    }

    /// <summary>The peer's reader: files every frame as it arrives, so the connection never pushes back on a peer that is ahead.</summary>
    private async Task ReadAsync(Peer peer, TensorConnection connection)
    {
        try
        {
            while (true)
            {
                var message = await connection.ReceiveAsync(_lifetime.Token).ConfigureAwait(false);
                File(peer, message);
            }
        }
        catch (OperationCanceledException)
        {
            // The group ended.
        }
        catch (TensorConnectionException e)
        {
            ConnectionLost(peer, e);
        }
        catch (Exception e)
        {
            Abandon(peer.Rank, AbandonReason.BadFrame, $"reading from it failed: {e.Message}", e);
        }
    }

    private void File(Peer peer, TensorMessage message)
    {
        var h = message.Header;
        string? bad = null;
        if (!string.Equals(h.RunId, _runId, StringComparison.Ordinal) || h.Generation != Generation || h.WorkerIndex != peer.Rank)
        {
            bad = $"it sent a frame of run {h.RunId} generation {h.Generation} rank {h.WorkerIndex} on the connection of rank {peer.Rank} generation {Generation}";
        }
        else if (h.Kind is not (TensorKind.AllReduceContribution or TensorKind.AllReduceSum or TensorKind.AllGather))
        {
            bad = $"it sent {h.Kind} on an all-reduce connection";
        }

        if (bad is not null)
        {
            message.Dispose();
            Abandon(peer.Rank, AbandonReason.BadFrame, bad, null);
            return;
        }

        Interlocked.Add(ref _bytesReceived, (long)message.Length * sizeof(float));
        var key = new OpKey(h.Kind == TensorKind.AllGather ? OpKind.Gather : OpKind.Reduce, h.Step, h.Attempt, h.Kind == TensorKind.AllGather ? 0 : SegmentOf(h));
        var arrival = new Arrival(peer.Rank, message);
        string? stale = null;
        lock (_gate)
        {
            if (_dead is not null)
            {
                message.Dispose();
                return;
            }

            peer.LastProgress = _time.GetTimestamp();
            if (_active.TryGetValue(key, out var op))
            {
                if (op.Remaining[peer.Rank] == 0)
                {
                    bad = $"it sent more {key} frames than the call takes";
                }
                else
                {
                    op.Filed(arrival);
                    peer.Expecting--;
                    return;
                }
            }
            else if ((key.Step, key.Attempt).CompareTo(_latest) < 0)
            {
                stale = $"step {_latest.Step} attempt {_latest.Attempt} has started here";
            }
            else if (_finished.Contains(key))
            {
                stale = "that call has ended here";
            }
            else
            {
                // A call this member has not started yet: the peer is ahead.
                if (!_early.TryGetValue(key, out var held))
                {
                    held = [];
                    _early[key] = held;
                }

                held.Add(arrival);
                return;
            }
        }

        if (bad is not null)
        {
            message.Dispose();
            Abandon(peer.Rank, AbandonReason.BadFrame, bad, null);
        }
        else
        {
            DropStale(arrival, stale!);
        }
    }

    private void DropStale(Arrival arrival, string why)
    {
        var h = arrival.Message.Header;
        AllReduceLog.StaleFrame(_logger, h.Kind.ToString(), arrival.Rank, h.Step, h.Attempt, SegmentOf(h), Generation, why);
        arrival.Message.Dispose();
    }

    // ---- headers ----

    private TensorHeader Header(TensorKind kind, OpKey key) => new()
    {
        Kind = kind,
        RunId = _runId,
        Generation = Generation,
        Step = key.Step,
        Attempt = key.Attempt,
        WorkerIndex = Rank,
        Incarnation = _members[Rank].Identity.Incarnation,
    };

    private TensorHeader ReduceHeader(TensorKind kind, OpKey key, int bucket, int offset, int length, int total) => Header(kind, key) with
    {
        Values = new Dictionary<string, double>(StringComparer.Ordinal)
        {
            [SegmentKey] = key.Segment,
            [BucketKey] = bucket,
            [OffsetKey] = offset,
            [LengthKey] = length,
            [TotalKey] = total,
        },
    };

    private static int SegmentOf(TensorHeader header) => TryInt(header, SegmentKey, out var segment) ? segment : 0;

    private static bool TryInt(TensorHeader header, string key, out int value)
    {
        value = 0;
        if (!header.Values.TryGetValue(key, out var number) || !(number >= int.MinValue && number <= int.MaxValue) || number != Math.Floor(number))
        {
            return false;
        }

        value = (int)number;
        return true;
    }

    private List<Peer> Peers() => [.. _peers.Where(p => p is not null).Select(p => p!)];

    private enum OpKind
    {
        Reduce,
        Gather,
    }

    private readonly record struct OpKey(OpKind Kind, long Step, int Attempt, int Segment)
    {
        public override string ToString() => Kind == OpKind.Reduce
            ? $"all-reduce of step {Step} attempt {Attempt} segment {Segment}"
            : $"all-gather of step {Step} attempt {Attempt}";
    }

    private readonly record struct Arrival(int Rank, TensorMessage Message);

    /// <summary>A call in flight: the frames it still awaits from each rank, and those filed for it.</summary>
    private sealed class Operation(OpKey key, int[] expected, int[] independent)
    {
        public OpKey Key { get; } = key;

        public int[] Expected { get; } = expected;

        /// <summary>Frames not yet filed, per rank (under the group's lock).</summary>
        public int[] Remaining { get; } = (int[])expected.Clone();

        /// <summary>
        /// Frames not yet filed that the peer can send without waiting for anyone (contributions, all-gather
        /// vectors), per rank: a peer that owes one of these is itself late, while one that owes only sums may be
        /// waiting on a third member. The watchdog blames the former first.
        /// </summary>
        public int[] Independent { get; } = (int[])independent.Clone();

        public Channel<Arrival> Inbox { get; } = Channel.CreateUnbounded<Arrival>(new UnboundedChannelOptions { SingleReader = true });

        /// <summary>Under the group's lock.</summary>
        public void Filed(Arrival arrival)
        {
            Remaining[arrival.Rank]--;
            if (arrival.Message.Header.Kind is TensorKind.AllReduceContribution or TensorKind.AllGather && Independent[arrival.Rank] > 0)
            {
                Independent[arrival.Rank]--;
            }

            Inbox.Writer.TryWrite(arrival);
        }
    }

    /// <summary>Another member, its connection once up, and how long it has kept this member waiting.</summary>
    private sealed class Peer(GroupMember member)
    {
        public GroupMember Member { get; } = member;

        public int Rank => Member.Rank;

        /// <summary>The connection the peer dialled: this member sends on it (listener → dialer, unmasked).</summary>
        public TensorConnection? Connection { get; set; }

        /// <summary>The connection this member dialled: the peer sends on it, this member receives.</summary>
        public TensorConnection? Incoming { get; set; }

        public Task Reading { get; set; } = Task.CompletedTask;

        public Task ReadingIncoming { get; set; } = Task.CompletedTask;

        /// <summary>Frames awaited from it by calls in flight (under the group's lock).</summary>
        public int Expecting { get; set; }

        /// <summary>When it last sent a frame, or when something was first awaited from it (a <see cref="TimeProvider"/> timestamp).</summary>
        public long LastProgress { get; set; }
    }
}
