using Google.Protobuf;
using RnnCluster.DataPlane;
using RnnCluster.Parallel.Cluster;
using Step = RnnCluster.Training.Parallel;
using Wire = RnnCluster.Parallel.Cluster.Steps;

namespace RnnCluster.Tests.Parallel.Cluster;

/// <summary>
/// The step records on the wire (<see cref="StepWire"/>, what <see cref="StepCodec"/> puts in a tensor
/// message): float fields written and read straight from the message bytes, plain protobuf of
/// <c>step.proto</c> to any other reader, and malformed bytes refused.
/// </summary>
public sealed class StepWireTests
{
    [Fact]
    public void A_window_round_trips_bit_exactly_with_every_float_pattern()
    {
        float[] state = [0.5f, -1.25f, float.Epsilon, 3e38f, -0f, float.NaN];
        var parameters = Floats(100_003, 1);
        var window = new Step.ComputeWindow(7, 2, 1, 4, 2, 3, [1, 2, 3, 4, 5, 6], [2, 3, 4, 5, 6, -1], state, parameters);

        var back = StepWire.FromWireWindow(StepWire.ToWire(window));

        Assert.Equal((window.Step, window.Generation, window.Attempt, window.FirstStream, window.StreamCount, window.Length), (back.Step, back.Generation, back.Attempt, back.FirstStream, back.StreamCount, back.Length));
        Assert.Equal(window.Inputs, back.Inputs);
        Assert.Equal(window.Targets, back.Targets);
        Assert.Equal(state.Select(BitConverter.SingleToInt32Bits), back.State.Select(BitConverter.SingleToInt32Bits));
        Assert.Equal(parameters, back.Parameters);
    }

    [Fact]
    public void The_run_snapshot_a_command_carries_and_the_copy_a_worker_sends_a_new_coordinator_round_trip_intact()
    {
        var parameters = Floats(50_001, 3);
        var snapshot = new Step.RunSnapshot(41, 3, "{\"step\": 41}"u8.ToArray(), Floats(100_002, 5), 41, 0x0123456789abcdef);
        var window = new Step.ComputeWindow(42, 1, 0, 0, 1, 1, [1], [2], [0f], parameters, snapshot);

        var back = StepWire.FromWireWindow(StepWire.ToWire(window)).Snapshot!;
        var copy = StepWire.FromWireCopy(StepWire.ToWire(new Step.SnapshotCopy(snapshot, parameters)));
        var fetch = StepWire.FromWireFetch(StepWire.ToWire(new Step.FetchSnapshot(41)));

        foreach (var s in new[] { back, copy.Snapshot })
        {
            Assert.Equal((snapshot.Step, snapshot.Fence, snapshot.OptimizerSteps, snapshot.Checksum), (s.Step, s.Fence, s.OptimizerSteps, s.Checksum));
            Assert.Equal(snapshot.TrainerState, s.TrainerState);
            Assert.Equal(snapshot.OptimizerState, s.OptimizerState);
        }

        Assert.Equal(parameters, copy.Parameters);
        Assert.Equal(41, fetch.Step);
        Assert.Null(StepWire.FromWireWindow(StepWire.ToWire(window with { Snapshot = null })).Snapshot);
    }

    /// <summary>
    /// Our writer puts the float fields last, and the reader then hands the parser the bytes before them
    /// as they lie. Generated code writes fields in number order, the floats (9, 10) before the snapshot
    /// and the rest: the reader must take them out and read the same window, snapshot included.
    /// </summary>
    [Fact]
    public void A_window_in_generated_codes_field_order_reads_as_ours_does()
    {
        var state = Floats(33, 7);
        var parameters = Floats(1_001, 8);
        var trainerState = "{\"step\": 41, \"streamState\": \"AAAA\"}"u8.ToArray();
        var snapshot = new Step.RunSnapshot(41, 3, trainerState, [], 0, 0xfeedface);
        var window = new Step.ComputeWindow(42, 2, 1, 3, 2, 2, [1, 2, 3, 4], [2, 3, 4, 5], state, parameters, snapshot) { ReportNonFinite = true };
        var generated = new Wire.ComputeWindow
        {
            Step = 42, Generation = 2, Attempt = 1, FirstStream = 3, StreamCount = 2, Length = 2,
            Inputs = { 1, 2, 3, 4 }, Targets = { 2, 3, 4, 5 },
            State = LittleEndianFloats.ToByteString(state), Parameters = LittleEndianFloats.ToByteString(parameters),
            Snapshot = new Wire.RunSnapshot { Step = 41, Fence = 3, TrainerState = ByteString.CopyFrom(trainerState), Checksum = 0xfeedface },
            ReportNonFinite = true,
        }.ToByteString();

        foreach (var bytes in new[] { StepWire.ToWire(window), generated })
        {
            var back = StepWire.FromWireWindow(bytes);
            Assert.Equal((42L, 2, 1, 3, 2, 2, true), (back.Step, back.Generation, back.Attempt, back.FirstStream, back.StreamCount, back.Length, back.ReportNonFinite));
            Assert.Equal(window.Inputs, back.Inputs);
            Assert.Equal(window.Targets, back.Targets);
            Assert.Equal(state, back.State);
            Assert.Equal(parameters, back.Parameters);
            Assert.Equal(trainerState, back.Snapshot!.TrainerState);
            Assert.Equal((41L, 3L, 0xfeedfaceUL), (back.Snapshot.Step, back.Snapshot.Fence, back.Snapshot.Checksum));
        }
    }

    [Fact]
    public void A_command_that_asks_for_a_non_finite_gradient_to_be_reported_says_so_on_the_wire()
    {
        var window = new Step.ComputeWindow(7, 2, 1, 0, 1, 1, [1], [2], [0f], []);
        var batch = new Step.ComputeBatch(4, 1, 0, 8, new RnnCluster.Training.Tasks.TaskShard(1, [1], [1], 0, [5], []), []);

        Assert.False(StepWire.FromWireWindow(StepWire.ToWire(window)).ReportNonFinite);
        Assert.True(StepWire.FromWireWindow(StepWire.ToWire(window with { ReportNonFinite = true })).ReportNonFinite);
        Assert.False(StepWire.FromWireBatch(StepWire.ToWire(batch)).ReportNonFinite);
        Assert.True(StepWire.FromWireBatch(StepWire.ToWire(batch with { ReportNonFinite = true })).ReportNonFinite);
    }

    [Fact]
    public void An_all_reduce_reply_carries_its_compute_and_transfer_times_from_which_the_coordinator_splits_the_peer_wait()
    {
        var reply = new Step.WindowGradients(9, 2, 0, 1, 12.5, 6, [], [0.5f], ComputeSeconds: 0.1, CopySeconds: 0.04, Norm: 0.7);

        var decoded = StepWire.FromWireGradients(StepWire.ToWire(reply));

        Assert.Equal(0.1, decoded.ComputeSeconds);
        Assert.Equal(0.04, decoded.CopySeconds);
        Assert.Equal(0.7, decoded.Norm);
        Assert.Equal(0.1, Wire.WindowGradients.Parser.ParseFrom(StepWire.ToWire(reply)).ComputeSeconds);
    }

    /// <summary>The bytes are plain protobuf of the schema: generated code reads them, and reads them the same.</summary>
    [Fact]
    public void Step_message_bytes_parse_with_generated_code()
    {
        var gradients = new Step.WindowGradients(9, 2, 1, 1, 12.5, 6, [0.1f, -0.2f], [], 0.25, 0.01);
        var batch = new Step.ComputeBatch(4, 1, 0, 8, new RnnCluster.Training.Tasks.TaskShard(2, [1, 2, 3, 4], [2, 1], 1, [5, 6], [7, 8]), [1f, 2f, 3f]);

        var wireGradients = Wire.WindowGradients.Parser.ParseFrom(StepWire.ToWire(gradients));
        var wireBatch = Wire.ComputeBatch.Parser.ParseFrom(StepWire.ToWire(batch));

        Assert.Equal(
            new Wire.WindowGradients
            {
                Step = 9,
                Generation = 2,
                Attempt = 1,
                WorkerIndex = 1,
                LossSum = 12.5,
                Tokens = 6,
                Gradients = LittleEndianFloats.ToByteString([0.1f, -0.2f]),
                ComputeSeconds = 0.25,
                CopySeconds = 0.01,
            },
            wireGradients);
        Assert.Equal([1f, 2f, 3f], LittleEndianFloats.ToArray(wireBatch.Parameters));
        Assert.Equal([1L, 2, 3, 4], wireBatch.Sources);
        var decoded = StepWire.FromWireBatch(StepWire.ToWire(batch));
        Assert.Equal(batch.Parameters, decoded.Parameters);
        Assert.Equal(batch.Shard.DecoderInputs, decoded.Shard.DecoderInputs);
        Assert.Equal(gradients.Gradients, StepWire.FromWireGradients(StepWire.ToWire(gradients)).Gradients);
    }

    [Fact]
    public void A_truncated_misaligned_or_inconsistent_step_message_is_refused()
    {
        var bytes = StepWire.ToWire(new Step.WindowGradients(9, 2, 1, 1, 12.5, 6, [0.1f, -0.2f], [1f], 0.25, 0.01)).ToByteArray();

        Assert.ThrowsAny<Exception>(() => StepWire.FromWireGradients(ByteString.CopyFrom(bytes[..^2])));
        // A gradients field of 5 bytes: not a whole number of floats.
        Assert.ThrowsAny<Exception>(() => StepWire.FromWireGradients(ByteString.CopyFrom([.. bytes, 0x3A, 5, 1, 2, 3, 4, 5])));
        // Six ids for a window of 3 x 1 streams.
        var wrongShape = new Step.ComputeWindow(1, 1, 1, 0, 1, 3, [1, 2, 3, 4, 5, 6], [1, 2, 3, 4, 5, 6], [0f], [1f]);
        var e = Assert.Throws<FormatException>(() => StepWire.FromWireWindow(StepWire.ToWire(wrongShape)));
        Assert.Contains("for length 3 x 1 streams", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void All_reduce_commands_replies_and_replica_copies_round_trip_intact()
    {
        var exchange = new Step.ExchangeCommand(1, ["akka.tcp://rnncluster@127.0.0.1:1#7@127.0.0.1:2", "akka.tcp://rnncluster@127.0.0.1:3#8@127.0.0.1:4"], new Step.StepCommit(41, 0.125), 0, Floats(1001, 2), 41);
        var window = new Step.ComputeWindow(42, 3, 1, 0, 1, 1, [1], [2], [0f], Floats(501, 4), null, exchange);
        var batch = new Step.ComputeBatch(42, 3, 1, 0, new RnnCluster.Training.Tasks.TaskShard(1, [1], [1], 1, [2], []), [], null, exchange with { Commit = null, SyncSource = -1, SeedOptimizer = [] });
        var reply = new Step.WindowGradients(42, 3, 1, 1, 2.5, 10, [], [1f], 0.1, 0.2, Norm: 0.75);
        var copy = new Step.ReplicaCopy(41, Floats(301, 5), Floats(602, 6), 40, 0xfedcba9876543210);

        var w = StepWire.FromWireWindow(StepWire.ToWire(window)).Exchange!;
        var b = StepWire.FromWireBatch(StepWire.ToWire(batch)).Exchange!;
        var r = StepWire.FromWireGradients(StepWire.ToWire(reply));
        var abandoned = StepWire.FromWireGradients(StepWire.ToWire(reply with { Abandoned = true }));
        var fetch = StepWire.FromWireFetchReplica(StepWire.ToWire(new Step.FetchReplica(41, new Step.StepCommit(41, 0.125))));
        var back = StepWire.FromWireReplicaCopy(StepWire.ToWire(copy));

        Assert.Equal((1, 0, 41L), (w.Rank, w.SyncSource, w.SeedOptimizerSteps));
        Assert.Equal(exchange.Members, w.Members);
        Assert.Equal(new Step.StepCommit(41, 0.125), w.Commit);
        Assert.Equal(exchange.SeedOptimizer, w.SeedOptimizer);
        Assert.Equal((null, -1), (b.Commit, b.SyncSource));
        Assert.Empty(b.SeedOptimizer);
        Assert.Equal((0.75, false), (r.Norm, r.Abandoned));
        Assert.Empty(r.Gradients);
        Assert.True(abandoned.Abandoned);
        Assert.Equal(new Step.StepCommit(41, 0.125), fetch.Commit);
        Assert.Equal((copy.Step, copy.OptimizerSteps), (back.Step, back.OptimizerSteps));
        Assert.Equal(copy.Parameters, back.Parameters);
        Assert.Equal(copy.OptimizerState, back.OptimizerState);
        Assert.Equal(copy.Checksum, back.Checksum);
        Assert.Null(StepWire.FromWireFetchReplica(StepWire.ToWire(new Step.FetchReplica(5, null))).Commit);
        Assert.True(StepWire.FromWireFetchReplica(StepWire.ToWire(new Step.FetchReplica(5, null, ChecksumOnly: true))).ChecksumOnly);
    }

    [Fact]
    public void An_exchange_whose_rank_is_outside_its_members_is_refused()
    {
        var window = new Step.ComputeWindow(1, 1, 1, 0, 1, 1, [1], [2], [0f], [], null, new Step.ExchangeCommand(2, ["a#1@127.0.0.1:1", "b#1@127.0.0.1:2"], null, -1, [], 0));

        var error = Assert.Throws<FormatException>(() => StepWire.FromWireWindow(StepWire.ToWire(window)));
        Assert.Contains("rank 2", error.Message, StringComparison.Ordinal);
    }

    private static float[] Floats(int count, int seed)
    {
        var rng = new Random(seed);
        var values = new float[count];
        for (var i = 0; i < values.Length; i++)
        {
            values[i] = (float)(rng.NextDouble() - 0.5);
        }

        return values;
    }
}
