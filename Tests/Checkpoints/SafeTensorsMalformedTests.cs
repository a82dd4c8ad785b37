using System.Buffers.Binary;
using System.Text;
using RnnCluster.Model.Checkpoints;

using RnnCluster.Tests.Support;

namespace RnnCluster.Tests.Checkpoints;

public sealed class SafeTensorsMalformedTests : IDisposable
{
    private const string TwoTensors = "{\"a\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[0,4]},\"b\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[4,8]}}";

    private readonly TempDirectory _temp = new();

    public void Dispose() => _temp.Dispose();

    [Theory]
    [InlineData("shorter-than-prefix", "the file has 5 bytes, fewer than the 8-byte header length")]
    [InlineData("header-past-end", "header length 4096 runs past the end of the")]
    [InlineData("truncated-data", "tensor 'b' ends at byte 8 but the data section has only 6 bytes (truncated?)")]
    [InlineData("overlap", "tensor 'b' (bytes 2..6) overlaps tensor 'a' (bytes 0..4)")]
    [InlineData("wrong-byte-count", "tensor 'a' spans 4 bytes but shape [3] of U8 needs 3")]
    [InlineData("gap", "bytes 4..5 of the data section belong to no tensor (gap before 'b')")]
    [InlineData("trailing-bytes", "the data section has 10 bytes but the tensors cover only 8")]
    [InlineData("unknown-dtype", "tensor 'a' has dtype 'BF16'; this build reads F32, F64, I64 and U8")]
    [InlineData("duplicate-name", "the header names 'a' twice")]
    [InlineData("not-json", "the header is not valid JSON")]
    [InlineData("negative-dimension", "tensor 'a' has 'shape' item -4; expected a non-negative integer")]
    public async Task A_malformed_file_is_refused_with_a_CheckpointException_naming_the_file(string kind, string expectedProblem)
    {
        var path = _temp.Combine(kind + ".safetensors");
        await File.WriteAllBytesAsync(path, Build(kind));

        var ex = Assert.Throws<CheckpointException>(() => SafeTensors.Read(path));

        Assert.StartsWith($"safetensors file {path} is malformed: ", ex.Message, StringComparison.Ordinal);
        Assert.Contains(expectedProblem, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_missing_file_is_reported_by_name()
    {
        var path = _temp.Combine("absent.safetensors");

        var ex = Assert.Throws<CheckpointException>(() => SafeTensors.Read(path));

        Assert.Equal($"safetensors file {path} does not exist.", ex.Message);
    }

    private static byte[] Build(string kind) => kind switch
    {
        "shorter-than-prefix" => [1, 2, 3, 4, 5],
        "header-past-end" => WithHeaderLength(Image(TwoTensors, 8), 4096),
        "truncated-data" => Image(TwoTensors, 6),
        "overlap" => Image("{\"a\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[0,4]},\"b\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[2,6]}}", 6),
        "wrong-byte-count" => Image("{\"a\":{\"dtype\":\"U8\",\"shape\":[3],\"data_offsets\":[0,4]}}", 4),
        "gap" => Image("{\"a\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[0,4]},\"b\":{\"dtype\":\"U8\",\"shape\":[3],\"data_offsets\":[5,8]}}", 8),
        "trailing-bytes" => Image(TwoTensors, 10),
        "unknown-dtype" => Image("{\"a\":{\"dtype\":\"BF16\",\"shape\":[2],\"data_offsets\":[0,4]}}", 4),
        "duplicate-name" => Image("{\"a\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[0,4]},\"a\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[4,8]}}", 8),
        "not-json" => Image("{\"a\":{\"dtype\":", 0),
        "negative-dimension" => Image("{\"a\":{\"dtype\":\"U8\",\"shape\":[-4],\"data_offsets\":[0,4]}}", 4),
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, null),
    };

    private static byte[] Image(string json, int dataBytes)
    {
        var padded = (json.Length + 7) / 8 * 8;
        var bytes = new byte[8 + padded + dataBytes];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, (ulong)padded);
        Encoding.ASCII.GetBytes(json.PadRight(padded), bytes.AsSpan(8));
        for (var i = 0; i < dataBytes; i++)
        {
            bytes[8 + padded + i] = (byte)i;
        }

        return bytes;
    }

    private static byte[] WithHeaderLength(byte[] file, ulong headerLength)
    {
        BinaryPrimitives.WriteUInt64LittleEndian(file, headerLength);
        return file;
    }
}
