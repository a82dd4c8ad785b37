using RnnCluster.Model;
using RnnCluster.Torch;

namespace RnnCluster.Tests.Torch;

public sealed class ModelErrorTests
{
    [Fact]
    public void An_out_of_range_token_id_is_an_argument_error_naming_the_range()
    {
        using var model = new RnnModel(TinyModels.Options(CellKind.Lstm, Precision.Float32));
        long[] inputs = [0, 1, 9, 2];
        long[] targets = [0, 1, 2, 3];
        var e = Assert.Throws<TorchArgumentException>(() =>
            model.ForwardBackward<float>(inputs, targets, 2, 2, [], [], false, false));
        Assert.Contains("input token id out of range [0, 7)", e.Message, StringComparison.Ordinal);
        Assert.Contains("max 9", e.Message, StringComparison.Ordinal);

        // The model is still usable after a refused call: no exception crossed the boundary half-way.
        inputs[2] = 3;
        var ok = model.ForwardBackward<float>(inputs, targets, 2, 2, [], [], false, false);
        Assert.Equal(4, ok.Tokens);
    }

    [Fact]
    public void A_cuda_device_on_a_cpu_only_libtorch_names_the_libtorch_in_use()
    {
        if (TorchRuntime.CudaDeviceCount > 0)
        {
            return; // this check is about CPU-only builds; the GPU path is exercised on a GPU machine
        }

        var e = Assert.Throws<TorchDeviceException>(() =>
            new RnnModel(TinyModels.Options(CellKind.Lstm) with { Device = new TorchDevice(true, 0) }));
        Assert.Contains("cuda:0", e.Message, StringComparison.Ordinal);
        Assert.Contains("libtorch 2.10", e.Message, StringComparison.Ordinal);
        Assert.Contains(TorchRuntime.LibTorchDirVariable, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Tied_weights_with_unequal_sizes_are_refused_with_both_sizes()
    {
        var options = TinyModels.Options(CellKind.Lstm) with
        {
            Architecture = new ModelArchitecture(CellKind.Lstm, 1, 3, 4, 7, TieWeights: true),
        };
        var e = Assert.Throws<TorchArgumentException>(() => new RnnModel(options));
        Assert.Contains("3 and 4", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_buffer_of_the_wrong_element_type_is_refused_before_reaching_native_code()
    {
        using var model = new RnnModel(TinyModels.Options(CellKind.Gru, Precision.Float64));
        var e = Assert.Throws<ArgumentException>(() => model.ReadParameters(new float[model.ParameterCount]));
        Assert.Contains("Float64", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Random_state_round_trips_and_reproduces_dropout_masks()
    {
        var options = TinyModels.Options(CellKind.Lstm, Precision.Float32) with { DropoutEmbedding = 0.5, DropoutOutput = 0.5 };
        using var model = new RnnModel(options);
        var inputs = TinyModels.Ids(4, 2, 7, 1);
        var targets = TinyModels.Ids(4, 2, 7, 2);
        var state = model.GetRandomState();
        var first = model.ForwardBackward<float>(inputs, targets, 4, 2, [], [], train: true, backward: false).LossSum;
        var second = model.ForwardBackward<float>(inputs, targets, 4, 2, [], [], train: true, backward: false).LossSum;
        model.SetRandomState(state);
        var replay = model.ForwardBackward<float>(inputs, targets, 4, 2, [], [], train: true, backward: false).LossSum;
        Assert.Equal(first, replay);
        Assert.NotEqual(first, second);
    }
}
