namespace RnnCluster.Model;

/// <summary>Element types stored in checkpoints, named as in the safetensors header.</summary>
public enum TensorDType
{
    F32,
    F64,
    I64,
    U8,
}

/// <summary>
/// A named dense tensor held as raw little-endian bytes: the unit of safetensors files. Shapes are
/// row-major. The bytes are not copied on construction; callers hand over ownership.
/// </summary>
public sealed class NamedTensor
{
    public NamedTensor(string name, TensorDType dtype, long[] shape, ReadOnlyMemory<byte> data)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentNullException.ThrowIfNull(shape);
        long expected = ElementSize(dtype);
        foreach (var d in shape)
        {
            ArgumentOutOfRangeException.ThrowIfNegative(d);
            expected *= d;
        }

        if (expected != data.Length)
        {
            throw new ArgumentException($"Tensor '{name}' has {data.Length} bytes but shape [{string.Join(", ", shape)}] of {dtype} needs {expected}.", nameof(data));
        }

        Name = name;
        DType = dtype;
        Shape = shape;
        Data = data;
    }

    public string Name { get; }

    public TensorDType DType { get; }

    public IReadOnlyList<long> Shape { get; }

    public ReadOnlyMemory<byte> Data { get; }

    public long ElementCount => Data.Length / ElementSize(DType);

    public static int ElementSize(TensorDType dtype) => dtype switch
    {
        TensorDType.F32 => 4,
        TensorDType.F64 => 8,
        TensorDType.I64 => 8,
        TensorDType.U8 => 1,
        _ => throw new ArgumentOutOfRangeException(nameof(dtype), dtype, "Unknown dtype."),
    };

    public static NamedTensor FromFloats(string name, long[] shape, ReadOnlySpan<float> values) =>
        new(name, TensorDType.F32, shape, System.Runtime.InteropServices.MemoryMarshal.AsBytes(values).ToArray());

    public float[] ToFloats()
    {
        if (DType != TensorDType.F32)
        {
            throw new InvalidOperationException($"Tensor '{Name}' is {DType}, not F32.");
        }

        return System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(Data.Span).ToArray();
    }
}
