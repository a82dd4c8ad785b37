using System.Text;
using RnnCluster.Model;
using RnnCluster.Model.Checkpoints;

using RnnCluster.Tests.Support;

namespace RnnCluster.Tests.Checkpoints;

/// <summary>Byte-level agreement with the safetensors specification, independent of our own reader.</summary>
public sealed class SafeTensorsFormatTests : IDisposable
{
    private readonly TempDirectory _temp = new();

    public void Dispose() => _temp.Dispose();

    [Fact]
    public async Task The_writer_produces_exactly_the_bytes_the_specification_prescribes()
    {
        var stream = new MemoryStream();
        NamedTensor[] tensors =
        [
            NamedTensor.FromFloats("a", [2], [1f, -2f]),
            new("b", TensorDType.U8, [3], new byte[] { 1, 2, 3 }),
        ];

        await SafeTensors.WriteAsync(stream, tensors, new Dictionary<string, string> { ["k"] = "v" }, CancellationToken.None);

        // 132 bytes of JSON, padded with 4 spaces to 136 = 0x88.
        const string json = "{\"__metadata__\":{\"k\":\"v\"},\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},\"b\":{\"dtype\":\"U8\",\"shape\":[3],\"data_offsets\":[8,11]}}";
        byte[] expected =
        [
            0x88, 0, 0, 0, 0, 0, 0, 0,
            .. Encoding.ASCII.GetBytes(json + "    "),
            0x00, 0x00, 0x80, 0x3F, // 1.0f little-endian
            0x00, 0x00, 0x00, 0xC0, // -2.0f little-endian
            0x01, 0x02, 0x03,
        ];
        Assert.Equal(expected, stream.ToArray());
    }

    [Fact]
    public async Task A_hand_built_file_whose_header_lists_tensors_out_of_data_order_is_read_correctly()
    {
        // 109 bytes of JSON with a space between entries, padded to 112 = 0x70; "b" is listed first but stored second.
        const string json = "{\"b\":{\"dtype\":\"I64\",\"shape\":[],\"data_offsets\":[4,12]}, \"a\":{\"dtype\":\"U8\",\"shape\":[2,2],\"data_offsets\":[0,4]}}";
        byte[] file =
        [
            0x70, 0, 0, 0, 0, 0, 0, 0,
            .. Encoding.ASCII.GetBytes(json + "   "),
            9, 8, 7, 6,
            0x2A, 0, 0, 0, 0, 0, 0, 0x80, // long.MinValue + 42
        ];
        var path = _temp.Combine("hand.safetensors");
        await File.WriteAllBytesAsync(path, file);

        var read = SafeTensors.Read(path);

        Assert.Empty(read.Metadata);
        Assert.Equal(["a", "b"], read.Tensors.Select(t => t.Name));
        Assert.Equal(TensorDType.U8, read.Tensors[0].DType);
        Assert.Equal([2L, 2L], read.Tensors[0].Shape);
        Assert.Equal([9, 8, 7, 6], read.Tensors[0].Data.ToArray());
        Assert.Equal(TensorDType.I64, read.Tensors[1].DType);
        Assert.Empty(read.Tensors[1].Shape);
        Assert.Equal(long.MinValue + 42, BitConverter.ToInt64(read.Tensors[1].Data.Span));
    }
}
