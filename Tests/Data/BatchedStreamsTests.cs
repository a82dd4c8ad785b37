using RnnCluster.Data;

namespace RnnCluster.Tests.Data;

public sealed class BatchedStreamsTests
{
    // Inputs 0..12, targets 100..112: 13 positions in 3 streams of 4, position 12 dropped.
    private static readonly TokenSplit Split = new([.. Enumerable.Range(0, 13)], [.. Enumerable.Range(100, 13)]);

    [Fact]
    public void Batchify_lays_streams_out_time_major_like_pytorch()
    {
        var streams = BatchedStreams.Batchify(Split, 3);

        // torch.arange(13)[:12].view(3, -1).t(): rows are time steps, columns streams.
        int[,] expected = { { 0, 4, 8 }, { 1, 5, 9 }, { 2, 6, 10 }, { 3, 7, 11 } };
        Assert.Equal(3, streams.StreamCount);
        Assert.Equal(4, streams.Length);
        for (var t = 0; t < 4; t++)
        {
            for (var b = 0; b < 3; b++)
            {
                Assert.Equal(expected[t, b], streams.InputAt(t, b));
                Assert.Equal(expected[t, b] + 100, streams.TargetAt(t, b));
            }
        }
    }

    [Fact]
    public void Copy_window_fills_a_time_major_block_of_a_stream_range()
    {
        var streams = BatchedStreams.Batchify(Split, 3);
        var inputs = new long[6];
        var targets = new long[6];

        streams.CopyWindow(start: 1, length: 3, firstStream: 1, streamCount: 2, inputs, targets);

        Assert.Equal([5L, 9, 6, 10, 7, 11], inputs);
        Assert.Equal([105L, 109, 106, 110, 107, 111], targets);
    }

    [Fact]
    public void A_window_past_the_end_of_the_streams_is_refused()
    {
        var streams = BatchedStreams.Batchify(Split, 3);
        var buffer = new long[12];

        Assert.Throws<ArgumentOutOfRangeException>(() => streams.CopyWindow(2, 3, 0, 3, buffer, buffer));
        Assert.Throws<ArgumentOutOfRangeException>(() => streams.CopyWindow(0, 1, 2, 2, buffer, buffer));
    }

    [Fact]
    public void Count_targets_skips_ignored_positions()
    {
        var split = new TokenSplit([1, 2, 3, 4, 5, 6], [7, -1, 7, 7, -1, -1]);
        var streams = BatchedStreams.Batchify(split, 2);

        // Stream 0 targets: 7 -1 7; stream 1: 7 -1 -1.
        Assert.Equal(3, streams.CountTargets(0, 3, 0, 2));
        Assert.Equal(1, streams.CountTargets(1, 2, 0, 1));
        Assert.Equal(1, streams.CountTargets(0, 3, 1, 1));
    }

    [Fact]
    public void More_streams_than_positions_is_an_error_naming_both()
    {
        var error = Assert.Throws<DataException>(() => BatchedStreams.Batchify(Split, 20));

        Assert.Equal("batch size 20 is larger than the split's 13 tokens: every stream needs at least one", error.Message);
    }
}
