using RnnCluster.Common;
using RnnCluster.Data;
using RnnCluster.Data.Tasks;

namespace RnnCluster.Tests.Data.Tasks;

public sealed class BucketBatcherTests
{
    private const long Pad = TaskVocabulary.PaddingId;

    [Fact]
    public void Every_example_is_in_exactly_one_batch_of_every_epoch()
    {
        var split = RandomLengths(1001, seed: 3);
        var batcher = new BucketBatcher(split, new BatchingOptions { BatchSize = 32, PoolBatches = 8 });
        var rng = new SeededRandom(11);

        for (var epoch = 0; epoch < 3; epoch++)
        {
            var batches = batcher.Epoch(rng);

            var seen = batches.SelectMany(b => b.ExampleIndices()).Order().ToArray();
            Assert.Equal(Enumerable.Range(0, 1001), seen);
            Assert.Equal(batcher.BatchesPerEpoch, batches.Count);
            Assert.Single(batches, b => b.Count < 32);
        }
    }

    [Fact]
    public void Bucketing_pads_far_less_than_random_batching()
    {
        var split = RandomLengths(4000, seed: 5);
        var bucketed = new BucketBatcher(split, new BatchingOptions { BatchSize = 32, PoolBatches = 50 }).Epoch(new SeededRandom(1));
        var random = new BucketBatcher(split, new BatchingOptions { BatchSize = 32, PoolBatches = 1 }).Epoch(new SeededRandom(1));

        var bucketedPadding = bucketed.Sum(b => b.SourcePadding);
        var randomPadding = random.Sum(b => b.SourcePadding);

        // Lengths 1..100: a random batch of 32 pads each row to ~97, about 47 cells a row; a sorted pool of
        // 1,600 spans ~2 lengths per batch. Measured about 2 % of random batching's padding.
        Assert.True(bucketedPadding * 10 < randomPadding, $"bucketed {bucketedPadding} vs random {randomPadding}");
        Assert.All(bucketed, b => Assert.True(b.SourcePadding <= 32L * 10, $"a batch pads {b.SourcePadding} cells"));
    }

    [Fact]
    public void The_same_seed_gives_the_same_epoch_and_another_seed_another()
    {
        var split = RandomLengths(500, seed: 9);
        var batcher = new BucketBatcher(split, new BatchingOptions { BatchSize = 16, PoolBatches = 4 });

        var a = batcher.Epoch(new SeededRandom(42)).Select(b => b.ExampleIndices()).ToArray();
        var b = batcher.Epoch(new SeededRandom(42)).Select(b => b.ExampleIndices()).ToArray();
        var c = batcher.Epoch(new SeededRandom(43)).Select(b => b.ExampleIndices()).ToArray();

        Assert.Equal(a, b);
        Assert.NotEqual(a, c);
    }

    [Fact]
    public void A_generator_restored_from_its_saved_state_replays_the_epoch()
    {
        var batcher = new BucketBatcher(RandomLengths(300, seed: 2), new BatchingOptions { BatchSize = 8, PoolBatches = 5 });
        var rng = new SeededRandom(7);
        batcher.Epoch(rng);
        var saved = rng.GetState();

        var second = batcher.Epoch(rng).Select(b => b.ExampleIndices()).ToArray();
        var replayed = batcher.Epoch(SeededRandom.FromState(saved)).Select(b => b.ExampleIndices()).ToArray();

        Assert.Equal(second, replayed);
    }

    [Fact]
    public void Examples_of_equal_length_are_batched_in_shuffled_order_not_in_file_order()
    {
        // A file sorted by label (spam-assassin: every ham line, then every spam line; cmudict is sorted
        // alphabetically), every example of the same length: only the tie-break decides who shares a batch.
        const int count = 2000;
        var sources = new int[count][];
        var labels = new int[count];
        for (var i = 0; i < count; i++)
        {
            sources[i] = [TaskVocabulary.FirstTokenId, TaskVocabulary.FirstTokenId];
            labels[i] = i < count / 2 ? 0 : 1;
        }

        var split = new TaskSplit(TaskKind.Acceptor, "sorted", sources, labels, null);
        var batches = new BucketBatcher(split, new BatchingOptions { BatchSize = 32, PoolBatches = 50 }).Epoch(new SeededRandom(1));

        // Ties broken by split index would cut each pool into runs of neighbouring lines: about 60 of the
        // 63 batches would hold one label only. Shuffled ties mix them like random batches do.
        var oneLabel = batches.Count(b => b.Labels.Distinct().Count() == 1);
        Assert.True(oneLabel == 0, $"{oneLabel} of {batches.Count} batches hold a single label");
    }

    [Fact]
    public void Training_batches_of_an_encoder_decoder_are_not_grouped_by_target_length()
    {
        // cmudict-like: sources of one length, targets of 3 to 8 tokens. Sorting a pool by target length
        // too made every batch hold one target length (one "letters per phoneme" regime), which cost
        // about 0.1 phoneme error rate after 600 steps; within a source length, targets stay mixed.
        const int count = 3200;
        var rng = new SeededRandom(4);
        var sources = new int[count][];
        var targets = new int[count][];
        for (var i = 0; i < count; i++)
        {
            sources[i] = Enumerable.Repeat(TaskVocabulary.FirstTokenId, 7).ToArray();
            targets[i] = Enumerable.Repeat(TaskVocabulary.FirstTokenId, rng.NextInt(3, 9)).ToArray();
        }

        var split = new TaskSplit(TaskKind.EncoderDecoder, "pairs", sources, null, targets);
        var batches = new BucketBatcher(split, new BatchingOptions { BatchSize = 64, PoolBatches = 50 }).Epoch(new SeededRandom(1));

        var oneTargetLength = batches.Count(b => b.TargetLengths.Distinct().Count() == 1);
        Assert.True(oneTargetLength == 0, $"{oneTargetLength} of {batches.Count} batches hold a single target length");
    }

    [Fact]
    public void Sources_are_time_major_padded_with_the_padding_id_longest_row_first()
    {
        var split = new TaskSplit(TaskKind.Acceptor, "s", [[10], [20, 21, 22, 23], [30, 31, 32]], [0, 1, 0], null);
        var batch = new BucketBatcher(split, new BatchingOptions { BatchSize = 3 }).Sequential().Single();

        Assert.Equal([1, 2, 0], batch.ExampleIndices());
        Assert.Equal(4, batch.SourceLength);
        Assert.Equal(
            [
                20, 30, 10,
                21, 31, Pad,
                22, 32, Pad,
                23, Pad, Pad,
            ],
            batch.Sources);
        Assert.Equal([4L, 3, 1], batch.SourceLengths);
        Assert.Equal([1, 1, 1, 1, 1, 0, 1, 1, 0, 1, 0, 0], batch.SourceMask);
        Assert.Equal([1L, 0, 0], batch.Labels);
        Assert.Equal(3, batch.TargetCount);
        Assert.Equal(4, batch.SourcePadding);
    }

    [Fact]
    public void Transducer_tags_are_minus_one_at_padding()
    {
        var split = new TaskSplit(TaskKind.Transducer, "s", [[5, 6], [7, 8, 9]], null, [[0, 1], [2, 3, 4]]);
        var batch = new BucketBatcher(split, new BatchingOptions { BatchSize = 2 }).Sequential().Single();

        Assert.Equal([2L, 0, 3, 1, 4, -1], batch.Tags);
        Assert.Equal(3, batch.TargetLength);
        Assert.Equal(5, batch.TargetCount);
        Assert.Throws<InvalidOperationException>(() => batch.Labels);
    }

    [Fact]
    public void Decoder_inputs_start_with_bos_and_targets_end_with_eos()
    {
        var split = new TaskSplit(TaskKind.EncoderDecoder, "s", [[5, 6, 7], [8]], null, [[10], [11, 12, 13]]);
        var batch = new BucketBatcher(split, new BatchingOptions { BatchSize = 2 }).Sequential().Single();
        const long Bos = TaskVocabulary.BeginId;
        const long Eos = TaskVocabulary.EndId;

        Assert.Equal([0, 1], batch.ExampleIndices());
        Assert.Equal(4, batch.TargetLength); // longest target 3, plus one step
        Assert.Equal(
            [
                Bos, Bos,
                10, 11,
                Pad, 12,
                Pad, 13,
            ],
            batch.DecoderInputs);
        Assert.Equal(
            [
                10, 11,
                Eos, 12,
                -1, 13,
                -1, Eos,
            ],
            batch.DecoderTargets);
        Assert.Equal([2L, 4], batch.TargetLengths);
        Assert.Equal([1, 1, 1, 1, 0, 1, 0, 1], batch.TargetMask);
        Assert.Equal(6, batch.TargetCount);
    }

    [Fact]
    public void Worker_sub_batches_are_contiguous_carry_their_own_length_and_equal_the_columns_of_the_whole()
    {
        var split = RandomLengths(10, seed: 4);
        var batch = new BucketBatcher(split, new BatchingOptions { BatchSize = 10 }).Sequential().Single();

        var parts = batch.Split(3);

        Assert.Equal([4, 3, 3], parts.Select(p => p.Count));
        Assert.Equal(batch.ExampleIndices(), parts.SelectMany(p => p.ExampleIndices()));
        var first = 0;
        foreach (var part in parts)
        {
            Assert.Equal(part.SourceLengths.Max(), part.SourceLength);
            for (var t = 0; t < part.SourceLength; t++)
            {
                for (var r = 0; r < part.Count; r++)
                {
                    Assert.Equal(batch.Sources[(t * batch.Count) + first + r], part.Sources[(t * part.Count) + r]);
                }
            }

            first += part.Count;
        }

        Assert.True(parts[2].SourceLength < batch.SourceLength);
        Assert.Equal(batch.SourceTokenCount, parts.Sum(p => p.SourceTokenCount));
        Assert.Equal(10, batch.Split(25).Count);
        Assert.Equal(2, batch.Slice(3, 2).Count);
    }

    [Fact]
    public void Examples_over_the_maximum_length_are_truncated_and_counted()
    {
        var split = new TaskSplit(TaskKind.EncoderDecoder, "valid.tsv", [[1, 2, 3, 4, 5], [1, 2], [1]], null, [[1], [1, 2, 3, 4], [1]]);

        var batcher = new BucketBatcher(split, new BatchingOptions { BatchSize = 4, MaxLength = 3 });
        var batch = batcher.Sequential().Single();

        Assert.Equal(new LengthReport("valid.tsv", 3, 2, 0, 3, MaxLengthPolicy.Truncate), batcher.Report);
        Assert.Equal("valid.tsv: 2 of 3 examples longer than 3 tokens were truncated", batcher.Report.ToString());
        Assert.Equal(3, batch.SourceLength);
        Assert.Equal(4, batch.TargetLength);
        Assert.Equal([1, 2, 3, 4, 5], split.Sources[0]); // the split itself is untouched
    }

    [Fact]
    public void Examples_over_the_maximum_length_are_dropped_and_counted()
    {
        var split = new TaskSplit(TaskKind.Acceptor, "train.tsv", [[1, 2, 3, 4, 5], [1, 2], [1]], [0, 0, 1], null);

        var batcher = new BucketBatcher(split, new BatchingOptions { BatchSize = 4, MaxLength = 2, MaxLengthPolicy = MaxLengthPolicy.Drop });

        Assert.Equal(2, batcher.Count);
        Assert.Equal(1, batcher.Report.Dropped);
        Assert.Equal("train.tsv: 1 of 3 examples longer than 2 tokens were dropped", batcher.Report.ToString());
        Assert.Equal([1, 2], batcher.Epoch(new SeededRandom(1)).Single().ExampleIndices().Order());
    }

    [Fact]
    public void Dropping_every_example_is_an_error_naming_the_split()
    {
        var split = new TaskSplit(TaskKind.Acceptor, "train.tsv", [[1, 2, 3]], [0], null);

        var error = Assert.Throws<DataException>(() => new BucketBatcher(split, new BatchingOptions { MaxLength = 2, MaxLengthPolicy = MaxLengthPolicy.Drop }));

        Assert.StartsWith("train.tsv: all 1 examples are longer than the maximum length 2", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Sequential_batches_are_the_same_every_time_and_sorted_longest_first()
    {
        var batcher = new BucketBatcher(RandomLengths(100, seed: 8), new BatchingOptions { BatchSize = 7 });

        var a = batcher.Sequential();
        var lengths = a.SelectMany(b => b.SourceLengths).ToArray();

        Assert.Equal(lengths.OrderDescending(), lengths);
        Assert.Equal(a.Select(b => b.ExampleIndices()), batcher.Sequential().Select(b => b.ExampleIndices()));
    }

    // An acceptor split whose sources have lengths uniform in 1..100.
    private static TaskSplit RandomLengths(int count, ulong seed)
    {
        var rng = new SeededRandom(seed);
        var sources = new int[count][];
        for (var i = 0; i < count; i++)
        {
            sources[i] = Enumerable.Range(TaskVocabulary.FirstTokenId, rng.NextInt(1, 101)).ToArray();
        }

        return new TaskSplit(TaskKind.Acceptor, "random", sources, new int[count], null);
    }
}
