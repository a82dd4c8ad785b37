using RnnCluster.Model;
using RnnCluster.Torch;

namespace RnnCluster.Tests.Torch;

public sealed class ModelGradientTests
{
    private const int Steps = 5;
    private const int Streams = 3;

    [Theory]
    [InlineData(CellKind.Lstm)]
    [InlineData(CellKind.Gru)]
    [InlineData(CellKind.RnnTanh)]
    [InlineData(CellKind.RnnRelu)]
    public void Analytic_gradients_match_central_differences_in_double_precision(CellKind cell)
    {
        using var model = new RnnModel(TinyModels.Options(cell));
        var inputs = TinyModels.Ids(Steps, Streams, 7, salt: 1);
        var targets = TinyModels.Ids(Steps, Streams, 7, salt: 2);
        targets[4] = -1; // an ignored target must contribute nothing
        var state = StartState(model);

        model.ZeroGradients();
        model.ForwardBackward<double>(inputs, targets, Steps, Streams, state, [], train: false, backward: true);
        var analytic = new double[model.ParameterCount];
        model.ReadGradients<double>(analytic);

        var parameters = new double[model.ParameterCount];
        model.ReadParameters<double>(parameters);
        const double eps = 1e-6;
        var checkedCount = 0;
        for (var i = 0; i < parameters.Length; i += 5)
        {
            var saved = parameters[i];
            parameters[i] = saved + eps;
            model.WriteParameters<double>(parameters);
            var plus = Loss(model, inputs, targets, state);
            parameters[i] = saved - eps;
            model.WriteParameters<double>(parameters);
            var minus = Loss(model, inputs, targets, state);
            parameters[i] = saved;
            var numeric = (plus - minus) / (2 * eps);
            if (Math.Abs(numeric - analytic[i]) > 1e-6 * Math.Max(1.0, Math.Abs(numeric)))
            {
                Assert.Fail($"{cell} parameter {i}: analytic {analytic[i]:G10}, numeric {numeric:G10}");
            }

            checkedCount++;
        }

        Assert.True(checkedCount > 20);
    }

    [Fact]
    public void Tied_weights_gradients_match_central_differences()
    {
        var options = TinyModels.Options(CellKind.Lstm) with
        {
            Architecture = new ModelArchitecture(CellKind.Lstm, 1, 4, 4, 7, TieWeights: true),
        };
        using var model = new RnnModel(options);
        Assert.DoesNotContain(model.Layout, s => s.Name == "decoder.weight");
        var inputs = TinyModels.Ids(Steps, Streams, 7, 3);
        var targets = TinyModels.Ids(Steps, Streams, 7, 4);
        model.ZeroGradients();
        model.ForwardBackward<double>(inputs, targets, Steps, Streams, [], [], false, true);
        var analytic = new double[model.ParameterCount];
        model.ReadGradients<double>(analytic);
        var parameters = new double[model.ParameterCount];
        model.ReadParameters<double>(parameters);
        var encoder = model.Layout[0];
        for (var i = (int)encoder.Offset; i < encoder.Offset + encoder.Count; i += 3)
        {
            var saved = parameters[i];
            parameters[i] = saved + 1e-6;
            model.WriteParameters<double>(parameters);
            var plus = Loss(model, inputs, targets, []);
            parameters[i] = saved - 1e-6;
            model.WriteParameters<double>(parameters);
            var minus = Loss(model, inputs, targets, []);
            parameters[i] = saved;
            model.WriteParameters<double>(parameters);
            Assert.Equal((plus - minus) / 2e-6, analytic[i], 6);
        }
    }

    [Fact]
    public void Layout_follows_pytorch_state_dict_names_and_shapes()
    {
        using var model = new RnnModel(TinyModels.Options(CellKind.Gru, Precision.Float32));
        var names = model.Layout.Select(s => s.Name).ToArray();
        Assert.Equal(
            ["encoder.weight", "rnn.weight_ih_l0", "rnn.weight_hh_l0", "rnn.bias_ih_l0", "rnn.bias_hh_l0", "rnn.weight_ih_l1", "rnn.weight_hh_l1", "rnn.bias_ih_l1", "rnn.bias_hh_l1", "decoder.weight", "decoder.bias"],
            names);
        Assert.Equal([12L, 3L], model.Layout[1].Shape); // 3 gates x hidden 4, input = embedding 3
        Assert.Equal([12L, 4L], model.Layout[5].Shape);
        Assert.Equal(model.ParameterCount, model.Layout.Sum(s => s.Count));
        Assert.Equal(0, model.Layout[0].Offset);
        for (var i = 1; i < model.Layout.Count; i++)
        {
            Assert.Equal(model.Layout[i - 1].Offset + model.Layout[i - 1].Count, model.Layout[i].Offset);
        }
    }

    [Fact]
    public void Lstm_forget_gate_bias_starts_at_the_configured_value()
    {
        using var model = new RnnModel(TinyModels.Options(CellKind.Lstm) with { ForgetBias = 1.5 });
        var p = new double[model.ParameterCount];
        model.ReadParameters<double>(p);
        var biasIh = model.Layout.Single(s => s.Name == "rnn.bias_ih_l0");
        var biasHh = model.Layout.Single(s => s.Name == "rnn.bias_hh_l0");
        for (var j = 4; j < 8; j++)
        {
            Assert.Equal(1.5, p[biasIh.Offset + j]);
            Assert.Equal(0.0, p[biasHh.Offset + j]);
        }
    }

    [Fact]
    public void Same_seed_gives_the_same_initial_parameters_and_another_seed_does_not()
    {
        using var a = new RnnModel(TinyModels.Options(CellKind.Lstm, Precision.Float32));
        using var b = new RnnModel(TinyModels.Options(CellKind.Lstm, Precision.Float32));
        using var c = new RnnModel(TinyModels.Options(CellKind.Lstm, Precision.Float32) with { Seed = 43 });
        var pa = new float[a.ParameterCount];
        var pb = new float[b.ParameterCount];
        var pc = new float[c.ParameterCount];
        a.ReadParameters<float>(pa);
        b.ReadParameters<float>(pb);
        c.ReadParameters<float>(pc);
        Assert.Equal(pa, pb);
        Assert.NotEqual(pa, pc);
    }

    private static double[] StartState(RnnModel model)
    {
        var state = new double[Streams * model.StateSizePerStream];
        for (var i = 0; i < state.Length; i++)
        {
            state[i] = 0.1 * Math.Sin(i);
        }

        return state;
    }

    private static double Loss(RnnModel model, long[] inputs, long[] targets, double[] state) =>
        model.ForwardBackward<double>(inputs, targets, Steps, Streams, state, [], train: false, backward: false).LossSum;
}
