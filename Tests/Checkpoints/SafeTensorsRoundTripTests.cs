using System.Buffers.Binary;
using System.Text;
using RnnCluster.Model;
using RnnCluster.Model.Checkpoints;

using RnnCluster.Tests.Support;

namespace RnnCluster.Tests.Checkpoints;

public sealed class SafeTensorsRoundTripTests : IDisposable
{
    private readonly TempDirectory _temp = new();

    public void Dispose() => _temp.Dispose();

    [Fact]
    public async Task Every_dtype_an_empty_tensor_a_scalar_and_metadata_survive_a_round_trip()
    {
        var f64 = new byte[16];
        BinaryPrimitives.WriteDoubleLittleEndian(f64, Math.PI);
        BinaryPrimitives.WriteDoubleLittleEndian(f64.AsSpan(8), -0.0);
        var i64 = new byte[24];
        BinaryPrimitives.WriteInt64LittleEndian(i64, long.MinValue);
        BinaryPrimitives.WriteInt64LittleEndian(i64.AsSpan(8), 0);
        BinaryPrimitives.WriteInt64LittleEndian(i64.AsSpan(16), long.MaxValue);
        var scalar = new byte[8];
        BinaryPrimitives.WriteInt64LittleEndian(scalar, 42);
        NamedTensor[] tensors =
        [
            NamedTensor.FromFloats("rnn.weight_ih_l0", [2, 3], [1f, -2.5f, float.Epsilon, float.MaxValue, float.NaN, 0f]),
            new("f64", TensorDType.F64, [2], f64),
            new("i64", TensorDType.I64, [3, 1], i64),
            new("u8", TensorDType.U8, [4], new byte[] { 0, 127, 128, 255 }),
            new("empty", TensorDType.F32, [0, 3], ReadOnlyMemory<byte>.Empty),
            new("scalar", TensorDType.I64, [], scalar),
        ];
        var metadata = new Dictionary<string, string> { ["format"] = "pt", ["note"] = "ünïcode + \"quotes\"" };
        var path = _temp.Combine("round.safetensors");

        await SafeTensors.WriteAsync(path, tensors, metadata, CancellationToken.None);
        var read = SafeTensors.Read(path);

        Assert.Equal(["rnn.weight_ih_l0", "f64", "i64", "u8", "empty", "scalar"], read.Tensors.Select(t => t.Name));
        for (var i = 0; i < tensors.Length; i++)
        {
            Assert.Equal(tensors[i].DType, read.Tensors[i].DType);
            Assert.Equal(tensors[i].Shape, read.Tensors[i].Shape);
            Assert.Equal(tensors[i].Data.ToArray(), read.Tensors[i].Data.ToArray());
        }

        Assert.Equal(metadata.OrderBy(kv => kv.Key), read.Metadata.OrderBy(kv => kv.Key));
        Assert.Empty(read.Tensors[4].Data.ToArray());
        Assert.Equal(42, BinaryPrimitives.ReadInt64LittleEndian(read.Tensors[5].Data.Span));
    }

    [Fact]
    public async Task The_header_is_padded_with_spaces_so_the_data_starts_on_an_8_byte_boundary()
    {
        var path = _temp.Combine("pad.safetensors");

        await SafeTensors.WriteAsync(path, [new NamedTensor("x", TensorDType.U8, [1], new byte[] { 7 })], null, CancellationToken.None);
        var bytes = await File.ReadAllBytesAsync(path);

        var headerLength = (int)BinaryPrimitives.ReadUInt64LittleEndian(bytes);
        const string json = "{\"x\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]}}";
        Assert.Equal(56, headerLength);
        Assert.Equal(json + new string(' ', 56 - json.Length), Encoding.UTF8.GetString(bytes, 8, headerLength));
        Assert.Equal(8 + 56 + 1, bytes.Length);
    }

    [Fact]
    public async Task Writing_a_duplicate_tensor_name_is_refused_before_the_file_is_written()
    {
        var path = _temp.Combine("dup.safetensors");
        NamedTensor[] tensors = [new("a", TensorDType.U8, [1], new byte[] { 1 }), new("a", TensorDType.U8, [1], new byte[] { 2 })];

        var ex = await Assert.ThrowsAsync<ArgumentException>(() => SafeTensors.WriteAsync(new MemoryStream(), tensors, null, CancellationToken.None));

        Assert.Contains("'a' appears twice", ex.Message, StringComparison.Ordinal);
        Assert.False(File.Exists(path));
    }
}
