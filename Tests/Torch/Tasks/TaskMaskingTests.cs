using RnnCluster.Model;
using RnnCluster.Torch;

namespace RnnCluster.Tests.Torch.Tasks;

/// <summary>
/// Padding is invisible: the same sequences padded to another length with other pad values give the same
/// losses, counts, predictions and gradients, and a batch scores exactly as its sequences do alone (which
/// is also why data-parallel shards may simply add their gradient sums).
/// </summary>
public sealed class TaskMaskingTests
{
    private const long Garbage = 4; // a valid id: were padding ever read, it would change the results

    [Theory]
    [InlineData(Pooling.Last)]
    [InlineData(Pooling.Mean)]
    [InlineData(Pooling.Max)]
    [InlineData(Pooling.Attention)]
    public void Padding_never_changes_an_acceptors_loss_predictions_or_gradients(Pooling pooling)
    {
        using var model = new AcceptorModel(TaskModels.Acceptor(CellKind.Lstm, bidirectional: true, pooling));
        long[] labels = TaskModels.Labels();
        var tight = PaddedBatch.FromSequences(TaskModels.Sentences());
        var loose = Repad(tight, TaskModels.Sentences(), 9);
        var predictedTight = new long[3];
        var predictedLoose = new long[3];

        var (a, gradA) = WithGradient(model, () => model.Classify(tight, labels, false, true, predictedTight));
        var (b, gradB) = WithGradient(model, () => model.Classify(loose, labels, false, true, predictedLoose));

        Assert.Equal(a, b);
        Assert.Equal(predictedTight, predictedLoose);
        AssertClose(gradA, gradB, 1e-12);
    }

    [Theory]
    [InlineData(Pooling.Last)]
    [InlineData(Pooling.Mean)]
    [InlineData(Pooling.Max)]
    [InlineData(Pooling.Attention)]
    public void An_acceptor_scores_a_batch_as_the_sum_of_its_sequences_alone(Pooling pooling)
    {
        using var model = new AcceptorModel(TaskModels.Acceptor(CellKind.Gru, bidirectional: true, pooling));
        var sentences = TaskModels.Sentences();
        long[] labels = TaskModels.Labels();
        var (whole, gradWhole) = WithGradient(model, () => model.Classify(PaddedBatch.FromSequences(sentences), labels, false, true));

        model.ZeroGradients();
        var sum = 0.0;
        for (var b = 0; b < sentences.Length; b++)
        {
            sum += model.Classify(PaddedBatch.FromSequences([sentences[b]]), [labels[b]], false, true).LossSum;
        }

        var gradParts = new double[model.ParameterCount];
        model.ReadGradients<double>(gradParts);
        Assert.Equal(sum, whole.LossSum, 10);
        AssertClose(gradWhole, gradParts, 1e-10);
    }

    [Fact]
    public void Padding_never_changes_a_transducers_loss_predictions_or_gradients()
    {
        using var model = new TransducerModel(TaskModels.Transducer(CellKind.Lstm, bidirectional: true));
        var tight = PaddedBatch.FromSequences(TaskModels.Sentences());
        var loose = Repad(tight, TaskModels.Sentences(), 8);
        var tagsTight = PaddedBatch.TimeMajor(TaskModels.Tags(), tight.Steps);
        var tagsLoose = PaddedBatch.TimeMajor(TaskModels.Tags(), loose.Steps, padding: 2); // tags at padding are never read
        var predictedTight = new long[tagsTight.Length];
        var predictedLoose = new long[tagsLoose.Length];

        var (a, gradA) = WithGradient(model, () => model.Tag(tight, tagsTight, false, true, predictedTight));
        var (b, gradB) = WithGradient(model, () => model.Tag(loose, tagsLoose, false, true, predictedLoose));

        Assert.Equal(a, b);
        Assert.Equal(10, a.Count); // 5 + 2 + 4 positions, one tag of -1
        AssertClose(gradA, gradB, 1e-12);
        Assert.Equal(predictedTight, predictedLoose.AsSpan(0, predictedTight.Length).ToArray());
        Assert.All(predictedLoose.AsSpan(predictedTight.Length).ToArray(), p => Assert.Equal(-1, p));
        Assert.Equal(-1, predictedTight[(3 * 3) + 1]); // sequence 1 has 2 positions: row 3 is padding
    }

    [Fact]
    public void A_transducer_scores_a_batch_as_the_sum_of_its_sequences_alone()
    {
        using var model = new TransducerModel(TaskModels.Transducer(CellKind.Gru, bidirectional: true));
        var sentences = TaskModels.Sentences();
        var tags = TaskModels.Tags();
        var whole = PaddedBatch.FromSequences(sentences);
        var (all, gradAll) = WithGradient(model, () => model.Tag(whole, PaddedBatch.TimeMajor(tags, whole.Steps), false, true));

        model.ZeroGradients();
        var sum = 0.0;
        for (var b = 0; b < sentences.Length; b++)
        {
            sum += model.Tag(PaddedBatch.FromSequences([sentences[b]]), tags[b], false, true).LossSum;
        }

        var gradParts = new double[model.ParameterCount];
        model.ReadGradients<double>(gradParts);
        Assert.Equal(sum, all.LossSum, 10);
        AssertClose(gradAll, gradParts, 1e-10);
    }

    [Theory]
    [InlineData(CellKind.Lstm, true)]
    [InlineData(CellKind.Gru, false)]
    public void Padding_never_changes_an_encoder_decoders_loss_or_gradients(CellKind cell, bool bidirectional)
    {
        using var model = new Seq2SeqModel(TaskModels.Seq2Seq(cell, bidirectional));
        var tight = PaddedBatch.FromSequences(TaskModels.Sentences());
        var loose = Repad(tight, TaskModels.Sentences(), 7);
        var target = DecoderBatch.TeacherForcing(TaskModels.Targets(), TaskModels.Bos, TaskModels.Eos);
        var longer = Repad(target, 8);

        var (a, gradA) = WithGradient(model, () => model.ForwardBackward(tight, target, false, true));
        var (b, gradB) = WithGradient(model, () => model.ForwardBackward(loose, longer, false, true));

        Assert.Equal(a, b);
        Assert.Equal(3 + 1 + 4 + 3, a.Count); // every target token plus one <eos> each
        AssertClose(gradA, gradB, 1e-12);
    }

    [Fact]
    public void An_encoder_decoder_scores_a_batch_as_the_sum_of_its_pairs_alone()
    {
        using var model = new Seq2SeqModel(TaskModels.Seq2Seq(CellKind.Lstm, bidirectional: true));
        var sources = TaskModels.Sentences();
        var targets = TaskModels.Targets();
        var (all, gradAll) = WithGradient(model, () => model.ForwardBackward(
            PaddedBatch.FromSequences(sources), DecoderBatch.TeacherForcing(targets, TaskModels.Bos, TaskModels.Eos), false, true));

        model.ZeroGradients();
        var sum = 0.0;
        for (var b = 0; b < sources.Length; b++)
        {
            var target = DecoderBatch.TeacherForcing([targets[b]], TaskModels.Bos, TaskModels.Eos);
            sum += model.ForwardBackward(PaddedBatch.FromSequences([sources[b]]), target, false, true).LossSum;
        }

        var gradParts = new double[model.ParameterCount];
        model.ReadGradients<double>(gradParts);
        Assert.Equal(sum, all.LossSum, 10);
        AssertClose(gradAll, gradParts, 1e-10);
    }

    /// <summary>The same sequences in a window of <paramref name="steps"/> rows, padded with a valid id.</summary>
    private static PaddedBatch Repad(PaddedBatch batch, long[][] sequences, int steps) =>
        new(PaddedBatch.TimeMajor(sequences, steps, Garbage), batch.Lengths.ToArray(), steps);

    /// <summary>The same decoder batch with more rows of -1 padding.</summary>
    private static DecoderBatch Repad(DecoderBatch batch, int steps)
    {
        var inputs = new long[steps * batch.Count];
        var targets = new long[steps * batch.Count];
        Array.Fill(inputs, -1);
        Array.Fill(targets, -1);
        batch.Inputs.CopyTo(inputs);
        batch.Targets.CopyTo(targets);
        return new DecoderBatch(inputs, targets, steps);
    }

    private static (BatchResult Result, double[] Gradient) WithGradient(TorchModel model, Func<BatchResult> run)
    {
        model.ZeroGradients();
        var result = run();
        var gradient = new double[model.ParameterCount];
        model.ReadGradients<double>(gradient);
        return (result, gradient);
    }

    private static void AssertClose(double[] expected, double[] actual, double tolerance)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (var i = 0; i < expected.Length; i++)
        {
            Assert.True(Math.Abs(expected[i] - actual[i]) <= tolerance, $"element {i}: {expected[i]:R} vs {actual[i]:R}");
        }
    }
}
