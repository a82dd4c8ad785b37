using RnnCluster.Model;
using RnnCluster.Tests.Cli;
using RnnCluster.Tests.Support;
using RnnCluster.Torch;

namespace RnnCluster.Tests.Torch;

/// <summary>runtime.precision = bf16: bfloat16 kernels over fp32 master weights give fp32's loss and gradients to bf16 accuracy.</summary>
public sealed class MixedPrecisionTests
{
    [Theory]
    [InlineData(CellKind.Lstm)]
    [InlineData(CellKind.Gru)]
    public void Bf16_compute_gives_the_fp32_loss_and_gradient_direction_to_bf16_accuracy(CellKind cell)
    {
        var arch = new ModelArchitecture(cell, 2, EmbeddingSize: 32, HiddenSize: 32, VocabularySize: 300, TieWeights: false);
        using var full = new RnnModel(new ModelOptions(arch) { Seed = 5 });
        using var mixed = new RnnModel(new ModelOptions(arch) { Seed = 5, Compute = ComputePrecision.BFloat16 });
        const int steps = 12, streams = 6;
        var inputs = TinyModels.Ids(steps, streams, arch.VocabularySize, 1);
        var targets = TinyModels.Ids(steps, streams, arch.VocabularySize, 2);

        var a = full.ForwardBackward<float>(inputs, targets, steps, streams, [], [], train: true, backward: true);
        var b = mixed.ForwardBackward<float>(inputs, targets, steps, streams, [], [], train: true, backward: true);

        Assert.Equal(a.Tokens, b.Tokens);
        Assert.True(Math.Abs(a.LossSum - b.LossSum) <= 1e-2 * Math.Abs(a.LossSum), $"fp32 {a.LossSum} vs bf16 {b.LossSum}");
        var ga = full.GradientSpan.ToArray();
        var gb = mixed.GradientSpan.ToArray();
        double dot = 0, na = 0, nb = 0;
        for (var i = 0; i < ga.Length; i++)
        {
            dot += ga[i] * gb[i];
            na += ga[i] * ga[i];
            nb += gb[i] * gb[i];
        }

        // Every parameter's gradient arrived in the fp32 buffer, the recurrent ones included.
        Assert.True(dot / Math.Sqrt(na * nb) > 0.999, $"gradient cosine {dot / Math.Sqrt(na * nb)}");
        var rnn = mixed.Layout.Single(s => s.Name == "rnn.weight_hh_l1");
        Assert.Contains(mixed.GradientSpan.Slice((int)rnn.Offset, (int)rnn.Count).ToArray(), g => g != 0);
    }

    [Fact]
    public void The_master_weights_stay_fp32_and_an_optimizer_step_moves_them()
    {
        var arch = new ModelArchitecture(CellKind.Lstm, 1, EmbeddingSize: 16, HiddenSize: 16, VocabularySize: 50, TieWeights: false);
        using var model = new RnnModel(new ModelOptions(arch) { Compute = ComputePrecision.BFloat16 });
        using var optimizer = new Optimizer(model, new OptimizerOptions(OptimizerAlgorithm.Sgd));
        var before = model.ParameterSpan.ToArray();
        var inputs = TinyModels.Ids(5, 4, 50, 3);

        model.ForwardBackward<float>(inputs, inputs, 5, 4, [], [], train: true, backward: true);
        optimizer.Step(model, 1e-3);

        // A bf16 weight cannot change by lr x grad ~ 1e-5; the fp32 master can.
        var after = model.ParameterSpan.ToArray();
        var changed = before.Zip(after).Count(p => p.First != p.Second);
        Assert.True(changed > before.Length / 2, $"{changed} of {before.Length} parameters changed");
    }

    [Fact]
    public void Bf16_over_float64_masters_is_refused()
    {
        var arch = new ModelArchitecture(CellKind.Lstm, 1, 4, 4, 7, false);
        var e = Assert.Throws<TorchArgumentException>(() => new RnnModel(new ModelOptions(arch) { Precision = Precision.Float64, Compute = ComputePrecision.BFloat16 }));
        Assert.Contains("float32 master weights", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Two_worker_actors_train_in_bf16_and_match_a_single_bf16_replica()
    {
        using var dir = new TempDirectory();
        string[] bf16 = ["--max-steps", "6", .. CliRunner.TinyModel, "--set", "runtime.precision=bf16"];
        var single = await CliRunner.RunAsync(["train", "--run-dir", dir.Combine("single"), "--workers", "0", .. bf16]);
        var parallel = await CliRunner.RunAsync(["train", "--run-dir", dir.Combine("parallel"), "--workers", "2", .. bf16]);

        Assert.True(single.ExitCode == 0, single.ToString());
        Assert.True(parallel.ExitCode == 0, parallel.ToString());
        var a = CliRunner.TrainLosses(dir.Combine("single"));
        var b = CliRunner.TrainLosses(dir.Combine("parallel"));
        Assert.Equal(a.Keys, b.Keys);

        // Each worker runs half the streams through bf16 kernels; the sums agree to bf16 accuracy.
        Assert.All(a.Keys, step => Assert.True(Math.Abs(a[step] - b[step]) <= 1e-2 * Math.Abs(a[step]), $"step {step}: {a[step]} vs {b[step]}"));
    }
}
