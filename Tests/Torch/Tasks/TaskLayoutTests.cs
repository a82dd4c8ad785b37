using RnnCluster.Model;
using RnnCluster.Torch;

namespace RnnCluster.Tests.Torch.Tasks;

/// <summary>Task models publish PyTorch state_dict names, shapes and order, back to back in one flat buffer.</summary>
public sealed class TaskLayoutTests
{
    [Fact]
    public void A_bidirectional_acceptor_with_attention_names_its_tensors_as_pytorch_modules_do()
    {
        using var model = new AcceptorModel(TaskModels.Acceptor(CellKind.Lstm, bidirectional: true, Pooling.Attention));
        // E = 3, H = 3, two directions: layer 1 reads 6 features; head 6 -> 4 -> 3 classes.
        AssertLayout(
            model,
            ("encoder.weight", [6, 3]),
            ("rnn.weight_ih_l0", [12, 3]), ("rnn.weight_hh_l0", [12, 3]), ("rnn.bias_ih_l0", [12]), ("rnn.bias_hh_l0", [12]),
            ("rnn.weight_ih_l0_reverse", [12, 3]), ("rnn.weight_hh_l0_reverse", [12, 3]), ("rnn.bias_ih_l0_reverse", [12]), ("rnn.bias_hh_l0_reverse", [12]),
            ("rnn.weight_ih_l1", [12, 6]), ("rnn.weight_hh_l1", [12, 3]), ("rnn.bias_ih_l1", [12]), ("rnn.bias_hh_l1", [12]),
            ("rnn.weight_ih_l1_reverse", [12, 6]), ("rnn.weight_hh_l1_reverse", [12, 3]), ("rnn.bias_ih_l1_reverse", [12]), ("rnn.bias_hh_l1_reverse", [12]),
            ("attention.query", [6]),
            ("head.0.weight", [4, 6]), ("head.0.bias", [4]), ("head.2.weight", [3, 4]), ("head.2.bias", [3]));
    }

    [Fact]
    public void A_transducer_with_a_linear_head_has_only_head_0()
    {
        var options = new TransducerOptions(TaskModels.Encoder(CellKind.Gru, bidirectional: false, layers: 1), Tags: 5);
        using var model = new TransducerModel(options);
        AssertLayout(
            model,
            ("encoder.weight", [6, 3]),
            ("rnn.weight_ih_l0", [9, 3]), ("rnn.weight_hh_l0", [9, 3]), ("rnn.bias_ih_l0", [9]), ("rnn.bias_hh_l0", [9]),
            ("head.0.weight", [5, 3]), ("head.0.bias", [5]));
    }

    [Fact]
    public void A_bidirectional_lstm_encoder_decoder_bridges_both_hidden_and_cell_state()
    {
        var options = new Seq2SeqOptions(TaskModels.Encoder(CellKind.Lstm, bidirectional: true, layers: 1), TargetVocabularySize: 7, DecoderEmbeddingSize: 2);
        using var model = new Seq2SeqModel(options);
        AssertLayout(
            model,
            ("encoder_embedding.weight", [6, 3]),
            ("encoder.weight_ih_l0", [12, 3]), ("encoder.weight_hh_l0", [12, 3]), ("encoder.bias_ih_l0", [12]), ("encoder.bias_hh_l0", [12]),
            ("encoder.weight_ih_l0_reverse", [12, 3]), ("encoder.weight_hh_l0_reverse", [12, 3]), ("encoder.bias_ih_l0_reverse", [12]), ("encoder.bias_hh_l0_reverse", [12]),
            ("bridge.weight", [3, 6]), ("bridge.bias", [3]), ("bridge_cell.weight", [3, 6]), ("bridge_cell.bias", [3]),
            ("decoder_embedding.weight", [7, 2]),
            ("decoder.weight_ih_l0", [12, 2]), ("decoder.weight_hh_l0", [12, 3]), ("decoder.bias_ih_l0", [12]), ("decoder.bias_hh_l0", [12]),
            ("output.weight", [7, 3]), ("output.bias", [7]));
    }

    [Theory]
    [InlineData(CellKind.Gru, true, "bridge.weight")]
    [InlineData(CellKind.Lstm, false, null)]
    public void Only_a_bidirectional_encoder_needs_a_bridge_and_only_an_lstm_bridges_its_cell(CellKind cell, bool bidirectional, string? bridge)
    {
        using var model = new Seq2SeqModel(TaskModels.Seq2Seq(cell, bidirectional));
        var bridges = model.Layout.Where(s => s.Name.StartsWith("bridge", StringComparison.Ordinal)).Select(s => s.Name).ToArray();
        Assert.Equal(bridge is null ? [] : [bridge, "bridge.bias"], bridges);
        Assert.Equal(
            ["decoder.weight_ih_l0", "decoder.weight_hh_l0", "decoder.bias_ih_l0", "decoder.bias_hh_l0", "decoder.weight_ih_l1"],
            model.Layout.Where(s => s.Name.StartsWith("decoder.", StringComparison.Ordinal)).Take(5).Select(s => s.Name));
    }

    [Fact]
    public void A_task_model_draws_its_initial_parameters_from_its_seed()
    {
        using var a = new AcceptorModel(TaskModels.Acceptor(CellKind.Lstm, true, Pooling.Attention));
        using var b = new AcceptorModel(TaskModels.Acceptor(CellKind.Lstm, true, Pooling.Attention));
        using var c = new AcceptorModel(TaskModels.Acceptor(CellKind.Lstm, true, Pooling.Attention) with { Seed = 8 });
        var (pa, pb, pc) = (Parameters(a), Parameters(b), Parameters(c));
        Assert.Equal(pa, pb);
        Assert.NotEqual(pa, pc);

        // The lstm forget-gate rule holds in both directions; linear layers start within nn.Linear's bound.
        var forget = a.Layout.Single(s => s.Name == "rnn.bias_ih_l1_reverse");
        Assert.All(pa.AsSpan((int)forget.Offset + 3, 3).ToArray(), v => Assert.Equal(1.0, v));
        var head = a.Layout.Single(s => s.Name == "head.0.weight");
        Assert.All(pa.AsSpan((int)head.Offset, (int)head.Count).ToArray(), v => Assert.InRange(Math.Abs(v), 0, 1 / Math.Sqrt(6)));
    }

    private static double[] Parameters(TorchModel model)
    {
        var p = new double[model.ParameterCount];
        model.ReadParameters<double>(p);
        return p;
    }

    private static void AssertLayout(TorchModel model, params (string Name, long[] Shape)[] expected)
    {
        Assert.Equal(expected.Select(e => e.Name), model.Layout.Select(s => s.Name));
        for (var i = 0; i < expected.Length; i++)
        {
            Assert.Equal(expected[i].Shape, model.Layout[i].Shape);
            Assert.Equal(i == 0 ? 0 : model.Layout[i - 1].Offset + model.Layout[i - 1].Count, model.Layout[i].Offset);
        }

        Assert.Equal(model.ParameterCount, model.Layout.Sum(s => s.Count));
    }
}
