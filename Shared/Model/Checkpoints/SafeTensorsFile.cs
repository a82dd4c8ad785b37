namespace RnnCluster.Model.Checkpoints;

/// <summary>The contents of one safetensors file: tensors in data order and the free-form string metadata.</summary>
public sealed class SafeTensorsFile
{
    public SafeTensorsFile(IReadOnlyList<NamedTensor> tensors, IReadOnlyDictionary<string, string> metadata)
    {
        ArgumentNullException.ThrowIfNull(tensors);
        ArgumentNullException.ThrowIfNull(metadata);
        Tensors = tensors;
        Metadata = metadata;
    }

    public IReadOnlyList<NamedTensor> Tensors { get; }

    public IReadOnlyDictionary<string, string> Metadata { get; }
}
