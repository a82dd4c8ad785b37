using RnnCluster.Model;
using RnnCluster.Torch;

namespace RnnCluster.Tests.Training;

/// <summary>Update rules of the flat-buffer optimizers against hand-computed torch.optim semantics.</summary>
public sealed class OptimizerTests
{
    [Fact]
    public void Sgd_with_momentum_and_weight_decay_follows_torch_optim_sgd()
    {
        using var model = NewModel();
        using var optimizer = new Optimizer(model, new OptimizerOptions(OptimizerAlgorithm.Sgd) { Momentum = 0.9, WeightDecay = 0.1 });
        var p0 = Parameters(model);
        var g = Fill(model, 0.5);
        optimizer.Step(model, 0.2);
        optimizer.Step(model, 0.2);
        var p = Parameters(model);
        for (var i = 0; i < p.Length; i += 13)
        {
            // step 1: d1 = g + wd p0; buf = d1; p1 = p0 - lr buf
            var d1 = g[i] + (0.1 * p0[i]);
            var p1 = p0[i] - (0.2 * d1);
            // step 2: d2 = g + wd p1; buf = 0.9 buf + d2; p2 = p1 - lr buf
            var buf = (0.9 * d1) + g[i] + (0.1 * p1);
            Assert.Equal(p1 - (0.2 * buf), p[i], 12);
        }

        Assert.Equal(2, optimizer.StepCount);
    }

    [Fact]
    public void Adam_first_step_moves_each_parameter_by_the_learning_rate_against_its_gradient_sign()
    {
        using var model = NewModel();
        using var optimizer = new Optimizer(model, new OptimizerOptions(OptimizerAlgorithm.Adam) { Epsilon = 1e-8 });
        var p0 = Parameters(model);
        var g = Fill(model, 0.3);
        optimizer.Step(model, 0.01);
        var p = Parameters(model);
        for (var i = 0; i < p.Length; i++)
        {
            // Bias-corrected m = g, v = g^2: step = lr * g / (|g| + eps).
            Assert.Equal(p0[i] - (0.01 * g[i] / (Math.Abs(g[i]) + 1e-8)), p[i], 12);
        }
    }

    [Fact]
    public void AdamW_decays_weights_decoupled_from_the_gradient()
    {
        using var model = NewModel();
        using var optimizer = new Optimizer(model, new OptimizerOptions(OptimizerAlgorithm.AdamW) { WeightDecay = 0.5 });
        var p0 = Parameters(model);
        model.WriteGradients<double>(new double[model.ParameterCount]); // zero gradient: only the decay acts
        optimizer.Step(model, 0.1);
        var p = Parameters(model);
        for (var i = 0; i < p.Length; i += 7)
        {
            Assert.Equal(p0[i] * (1 - (0.1 * 0.5)), p[i], 12);
        }
    }

    [Fact]
    public void Clipping_scales_the_global_norm_down_to_the_maximum_and_reports_the_norm_before()
    {
        using var model = NewModel();
        var g = Fill(model, 1.0);
        var norm = Math.Sqrt(g.Sum(x => x * x));
        Assert.Equal(norm, model.ClipGradientNorm(0.5), 9);
        var clipped = new double[model.ParameterCount];
        model.ReadGradients<double>(clipped);
        Assert.Equal(0.5, Math.Sqrt(clipped.Sum(x => x * x)), 5);
        Assert.Equal(0.5, model.ClipGradientNorm(10.0), 5); // below the maximum: unchanged
    }

    [Fact]
    public void Optimizer_state_round_trips_through_its_buffers()
    {
        using var model = NewModel();
        using var a = new Optimizer(model, new OptimizerOptions(OptimizerAlgorithm.Adam));
        Fill(model, 0.2);
        a.Step(model, 0.01);
        using var b = new Optimizer(model, new OptimizerOptions(OptimizerAlgorithm.Adam));
        Assert.Equal(["exp_avg", "exp_avg_sq"], b.StateNames);
        var buffer = new double[a.StateLength];
        for (var i = 0; i < a.StateNames.Count; i++)
        {
            a.ReadState<double>(i, buffer);
            b.WriteState<double>(i, buffer);
            var copy = new double[buffer.Length];
            b.ReadState<double>(i, copy);
            Assert.Equal(buffer, copy);
        }

        b.StepCount = a.StepCount;
        Assert.Equal(1, b.StepCount);
    }

    private static RnnModel NewModel() =>
        new(new ModelOptions(new ModelArchitecture(CellKind.Gru, 1, 3, 4, 5, false)) { Precision = Precision.Float64, Seed = 7 });

    private static double[] Parameters(RnnModel model)
    {
        var p = new double[model.ParameterCount];
        model.ReadParameters<double>(p);
        return p;
    }

    private static double[] Fill(RnnModel model, double scale)
    {
        var g = new double[model.ParameterCount];
        for (var i = 0; i < g.Length; i++)
        {
            g[i] = scale * Math.Sin(i + 1);
        }

        model.WriteGradients<double>(g);
        return g;
    }
}
