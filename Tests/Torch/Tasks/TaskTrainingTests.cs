using RnnCluster.Model;
using RnnCluster.Torch;

namespace RnnCluster.Tests.Torch.Tasks;

/// <summary>
/// The flat-buffer machinery works unchanged for task models: the optimizers learn toy tasks, clipping
/// scales, and dropout masks come from the model's own generator.
/// </summary>
public sealed class TaskTrainingTests
{
    [Fact]
    public void An_acceptor_learns_which_token_a_sequence_starts_with()
    {
        var (sequences, labels) = ToyData(seed: 1, s => s[0] % TaskModels.Classes);
        var batch = PaddedBatch.FromSequences(sequences);
        using var model = new AcceptorModel(TaskModels.Acceptor(CellKind.Lstm, bidirectional: true, Pooling.Last, Precision.Float32));
        var (first, last) = Train(model, () => model.Classify(batch, labels, train: true, backward: true));
        Assert.True(last < first / 2, $"loss went from {first} to {last}");
    }

    [Fact]
    public void A_transducer_learns_a_tag_per_token()
    {
        var (sequences, _) = ToyData(seed: 2, _ => 0);
        var batch = PaddedBatch.FromSequences(sequences);
        var tags = PaddedBatch.TimeMajor(sequences.Select(s => s.Select(t => t % TaskModels.Classes).ToArray()).ToArray(), batch.Steps);
        using var model = new TransducerModel(TaskModels.Transducer(CellKind.Gru, bidirectional: true, Precision.Float32));
        var (first, last) = Train(model, () => model.Tag(batch, tags, train: true, backward: true));
        Assert.True(last < first / 2, $"loss went from {first} to {last}");
    }

    [Fact]
    public void An_encoder_decoder_learns_to_reverse_its_source()
    {
        // Source ids 2..4 are also target ids 2..4 (0 and 1 are <bos> and <eos> on the target side).
        var (sequences, _) = ToyData(seed: 3, _ => 0, low: 2, high: 5);
        var source = PaddedBatch.FromSequences(sequences);
        var target = DecoderBatch.TeacherForcing(sequences.Select(s => s.Reverse().ToArray()).ToArray(), TaskModels.Bos, TaskModels.Eos);
        using var model = new Seq2SeqModel(TaskModels.Seq2Seq(CellKind.Lstm, bidirectional: true, Precision.Float32));
        var (first, last) = Train(model, () => model.ForwardBackward(source, target, train: true, backward: true), steps: 200);
        Assert.True(last < first / 4, $"loss went from {first} to {last}");
    }

    [Fact]
    public void Dropout_masks_come_from_the_models_generator()
    {
        var options = TaskModels.Acceptor(CellKind.Lstm, true, Pooling.Attention, Precision.Float32) with
        {
            DropoutEmbedding = 0.3,
            DropoutBetweenLayers = 0.3,
            DropoutOutput = 0.3,
        };
        using var model = new AcceptorModel(options);
        var batch = PaddedBatch.FromSequences(TaskModels.Sentences());
        long[] labels = TaskModels.Labels();
        var state = model.GetRandomState();
        var first = model.Classify(batch, labels, train: true, backward: false).LossSum;
        var second = model.Classify(batch, labels, train: true, backward: false).LossSum;
        model.SetRandomState(state);
        var replay = model.Classify(batch, labels, train: true, backward: false).LossSum;
        var evaluation = model.Classify(batch, labels, train: false, backward: false).LossSum;

        Assert.Equal(first, replay);
        Assert.NotEqual(first, second);
        Assert.Equal(evaluation, model.Classify(batch, labels, train: false, backward: false).LossSum);
    }

    /// <summary>Adam on the mean loss (the gradient SUM scaled by 1/count and clipped in one pass, as the trainer does).</summary>
    private static (double First, double Last) Train(TorchModel model, Func<BatchResult> step, int steps = 60)
    {
        using var optimizer = new Optimizer(model, new OptimizerOptions(OptimizerAlgorithm.Adam));
        double first = 0, last = 0;
        for (var i = 0; i < steps; i++)
        {
            model.ZeroGradients();
            var result = step();
            var mean = result.LossSum / result.Count;
            first = i == 0 ? mean : first;
            last = mean;
            model.ScaleAndClipGradients(1.0 / result.Count, maxNorm: 5.0);
            optimizer.Step(model, learningRate: 0.05);
        }

        return (first, last);
    }

    private static (long[][] Sequences, long[] Labels) ToyData(int seed, Func<long[], long> label, int low = 0, int high = TaskModels.Vocabulary)
    {
        var random = new Random(seed);
        var sequences = new long[16][];
        for (var i = 0; i < sequences.Length; i++)
        {
            sequences[i] = Enumerable.Range(0, random.Next(2, 7)).Select(_ => (long)random.Next(low, high)).ToArray();
        }

        return (sequences, sequences.Select(label).ToArray());
    }
}
