using RnnCluster.Model;
using RnnCluster.Model.Checkpoints;
using RnnCluster.Torch;

namespace RnnCluster.Training;

/// <summary>
/// Moves a model's and an optimizer's state to and from named tensors. Model tensors carry PyTorch
/// state_dict keys and shapes (a tied decoder is written as its own <c>decoder.weight</c>, as
/// PyTorch's state_dict does), so <c>model.safetensors</c> loads into the equivalent nn.Module unchanged.
/// </summary>
public static class ModelTensors
{
    public const string TiedDecoderName = "decoder.weight";

    public static List<NamedTensor> ExportModel(TorchModel model)
    {
        ArgumentNullException.ThrowIfNull(model);
        var flat = new float[model.ParameterCount];
        model.ReadParameters<float>(flat);
        var tensors = new List<NamedTensor>(model.Layout.Count + 1);
        ParameterSlice? encoder = null;
        foreach (var slice in model.Layout)
        {
            if (model is RnnModel { Architecture.TieWeights: true } && slice.Name == "decoder.bias")
            {
                // state_dict order of word_language_model's RNNModel: encoder, rnn…, decoder.weight, decoder.bias.
                var e = encoder ?? throw new InvalidOperationException("encoder.weight must precede the decoder");
                tensors.Add(NamedTensor.FromFloats(TiedDecoderName, e.Shape, flat.AsSpan((int)e.Offset, (int)e.Count)));
            }

            if (slice.Name == "encoder.weight")
            {
                encoder = slice;
            }

            tensors.Add(NamedTensor.FromFloats(slice.Name, slice.Shape, flat.AsSpan((int)slice.Offset, (int)slice.Count)));
        }

        return tensors;
    }

    /// <summary>Writes the tensors into the model, refusing missing, unexpected or mis-shaped ones with the name.</summary>
    public static void ImportModel(TorchModel model, IReadOnlyList<NamedTensor> tensors, string source)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(tensors);
        var byName = tensors.ToDictionary(t => t.Name, StringComparer.Ordinal);
        var flat = new float[model.ParameterCount];
        foreach (var slice in model.Layout)
        {
            if (!byName.Remove(slice.Name, out var tensor))
            {
                throw new CheckpointException($"{source}: tensor '{slice.Name}' is missing");
            }

            if (tensor.DType != TensorDType.F32 || !tensor.Shape.SequenceEqual(slice.Shape))
            {
                throw new CheckpointException($"{source}: tensor '{slice.Name}' is {tensor.DType} [{string.Join(", ", tensor.Shape)}], expected F32 [{string.Join(", ", slice.Shape)}]");
            }

            tensor.ToFloats().CopyTo(flat.AsSpan((int)slice.Offset, (int)slice.Count));
        }

        if (model is RnnModel { Architecture.TieWeights: true })
        {
            byName.Remove(TiedDecoderName);
        }

        if (byName.Count > 0)
        {
            throw new CheckpointException($"{source}: unexpected tensors {string.Join(", ", byName.Keys.Order(StringComparer.Ordinal))}");
        }

        model.WriteParameters<float>(flat);
    }

    public static List<NamedTensor> ExportOptimizer(Optimizer optimizer)
    {
        ArgumentNullException.ThrowIfNull(optimizer);
        var tensors = new List<NamedTensor>();
        var buffer = new float[optimizer.StateLength];
        for (var i = 0; i < optimizer.StateNames.Count; i++)
        {
            optimizer.ReadState<float>(i, buffer);
            tensors.Add(NamedTensor.FromFloats(optimizer.StateNames[i], [buffer.Length], buffer));
        }

        tensors.Add(new NamedTensor("step", TensorDType.I64, [1], BitConverter.GetBytes(optimizer.StepCount)));
        return tensors;
    }

    public static void ImportOptimizer(Optimizer optimizer, IReadOnlyList<NamedTensor> tensors, string source)
    {
        ArgumentNullException.ThrowIfNull(optimizer);
        ArgumentNullException.ThrowIfNull(tensors);
        var byName = tensors.ToDictionary(t => t.Name, StringComparer.Ordinal);
        for (var i = 0; i < optimizer.StateNames.Count; i++)
        {
            var name = optimizer.StateNames[i];
            if (!byName.TryGetValue(name, out var tensor) || tensor.DType != TensorDType.F32 || tensor.ElementCount != optimizer.StateLength)
            {
                throw new CheckpointException($"{source}: optimizer state '{name}' is missing or has the wrong size (was the optimizer changed?)");
            }

            optimizer.WriteState<float>(i, tensor.ToFloats());
        }

        if (!byName.TryGetValue("step", out var step) || step.DType != TensorDType.I64 || step.ElementCount != 1)
        {
            throw new CheckpointException($"{source}: optimizer 'step' is missing");
        }

        optimizer.StepCount = BitConverter.ToInt64(step.Data.Span);
    }

    /// <summary>Every optimizer state (momentum, Adam's moments) one after the other; empty for plain SGD.</summary>
    public static float[] OptimizerState(Optimizer optimizer)
    {
        ArgumentNullException.ThrowIfNull(optimizer);
        var length = (int)optimizer.StateLength;
        var all = new float[optimizer.StateNames.Count * length];
        for (var i = 0; i < optimizer.StateNames.Count; i++)
        {
            optimizer.ReadState<float>(i, all.AsSpan(i * length, length));
        }

        return all;
    }

    /// <summary>The parameters and optimizer state of <paramref name="snapshot"/> become the model's and the optimizer's.</summary>
    /// <exception cref="CheckpointException">Sizes that do not fit (another model or optimizer).</exception>
    public static void AdoptState(TorchModel model, Optimizer optimizer, Parallel.RunSnapshot snapshot, ReadOnlySpan<float> parameters, string source)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        Load(model, optimizer, parameters, snapshot.OptimizerState, snapshot.OptimizerSteps, source);
    }

    /// <summary>The parameters and optimizer state (<see cref="OptimizerState"/>'s layout) become the model's and the optimizer's.</summary>
    /// <exception cref="CheckpointException">Sizes that do not fit (another model or optimizer).</exception>
    public static void Load(TorchModel model, Optimizer optimizer, ReadOnlySpan<float> parameters, ReadOnlySpan<float> optimizerState, long optimizerSteps, string source)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(optimizer);
        var length = (int)optimizer.StateLength;
        if (parameters.Length != model.ParameterCount || optimizerState.Length != optimizer.StateNames.Count * length)
        {
            throw new CheckpointException($"{source}: {parameters.Length} parameters and {optimizerState.Length} optimizer values do not fit this run's {model.ParameterCount} parameters and {optimizer.StateNames.Count} x {length} optimizer values (were the model or optimizer settings changed?)");
        }

        model.WriteParameters(parameters);
        for (var i = 0; i < optimizer.StateNames.Count; i++)
        {
            optimizer.WriteState<float>(i, optimizerState.Slice(i * length, length));
        }

        optimizer.StepCount = optimizerSteps;
    }
}
