using RnnCluster.Model;
using RnnCluster.Torch;

namespace RnnCluster.Tests.Torch.Tasks;

/// <summary>Finite-difference checks in double precision of every task model's gradient, tensor by tensor.</summary>
public sealed class TaskGradientTests
{
    [Theory]
    [MemberData(nameof(TaskModels.EveryPoolingOfBidirectionalLstmAndGru), MemberType = typeof(TaskModels))]
    public void Bidirectional_acceptor_gradients_match_central_differences(CellKind cell, Pooling pooling)
    {
        using var model = new AcceptorModel(TaskModels.Acceptor(cell, bidirectional: true, pooling));
        var batch = PaddedBatch.FromSequences(TaskModels.Sentences());
        long[] labels = TaskModels.Labels();
        var gradient = GradientCheck.AssertMatchesCentralDifferences(
            model, backward => model.Classify(batch, labels, train: false, backward).LossSum);

        // Both directions of both layers reach the loss, whatever the pooling.
        Assert.True(GradientCheck.Touches(model, gradient, "rnn.weight_ih_l0_reverse"));
        Assert.True(GradientCheck.Touches(model, gradient, "rnn.weight_hh_l1_reverse"));
        Assert.True(GradientCheck.Touches(model, gradient, "rnn.weight_hh_l1"));
    }

    [Theory]
    [InlineData(CellKind.RnnTanh, Pooling.Last)]
    [InlineData(CellKind.RnnRelu, Pooling.Attention)]
    [InlineData(CellKind.Lstm, Pooling.Max)]
    public void Unidirectional_acceptor_gradients_match_central_differences(CellKind cell, Pooling pooling)
    {
        using var model = new AcceptorModel(TaskModels.Acceptor(cell, bidirectional: false, pooling));
        var batch = PaddedBatch.FromSequences(TaskModels.Sentences());
        long[] labels = [1, -1, 2]; // an ignored label contributes nothing
        GradientCheck.AssertMatchesCentralDifferences(model, backward => model.Classify(batch, labels, train: false, backward).LossSum);
    }

    [Theory]
    [InlineData(CellKind.Lstm, true)]
    [InlineData(CellKind.Gru, true)]
    [InlineData(CellKind.RnnTanh, false)]
    public void Transducer_gradients_match_central_differences(CellKind cell, bool bidirectional)
    {
        using var model = new TransducerModel(TaskModels.Transducer(cell, bidirectional));
        var batch = PaddedBatch.FromSequences(TaskModels.Sentences());
        var tags = PaddedBatch.TimeMajor(TaskModels.Tags(), batch.Steps);
        GradientCheck.AssertMatchesCentralDifferences(model, backward => model.Tag(batch, tags, train: false, backward).LossSum);
    }

    [Theory]
    [InlineData(CellKind.Lstm, false)]
    [InlineData(CellKind.Lstm, true)]
    [InlineData(CellKind.Gru, true)]
    [InlineData(CellKind.RnnRelu, false)]
    public void Encoder_decoder_gradients_match_central_differences(CellKind cell, bool bidirectional)
    {
        using var model = new Seq2SeqModel(TaskModels.Seq2Seq(cell, bidirectional));
        var source = PaddedBatch.FromSequences(TaskModels.Sentences());
        var target = DecoderBatch.TeacherForcing(TaskModels.Targets(), TaskModels.Bos, TaskModels.Eos);
        var gradient = GradientCheck.AssertMatchesCentralDifferences(
            model, backward => model.ForwardBackward(source, target, train: false, backward).LossSum);

        // The decoder's loss reaches back through its start state into the encoder.
        Assert.True(GradientCheck.Touches(model, gradient, "encoder.weight_ih_l0"));
        if (bidirectional)
        {
            Assert.True(GradientCheck.Touches(model, gradient, "encoder.weight_hh_l0_reverse"));
            Assert.True(GradientCheck.Touches(model, gradient, "bridge.weight"));
        }
    }
}
