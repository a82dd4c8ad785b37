using System.Buffers;
using System.Buffers.Binary;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace RnnCluster.Model.Checkpoints;

/// <summary>Writes safetensors: only the header is built in memory; tensor bytes go straight from the caller's buffers to the stream.</summary>
internal static class SafeTensorsWriter
{
    // Large tensors are written in slices so a cancellation is noticed within one slice, not one tensor.
    private const int ChunkBytes = 1 << 20;

    public static async Task WriteAsync(
        Stream destination,
        IReadOnlyList<NamedTensor> tensors,
        IReadOnlyDictionary<string, string>? metadata,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(destination);
        ArgumentNullException.ThrowIfNull(tensors);
        var header = BuildHeader(tensors, metadata);
        await destination.WriteAsync(header, cancellationToken).ConfigureAwait(false);
        foreach (var tensor in tensors)
        {
            var data = tensor.Data;
            for (var offset = 0; offset < data.Length; offset += ChunkBytes)
            {
                var slice = data.Slice(offset, Math.Min(ChunkBytes, data.Length - offset));
                await destination.WriteAsync(slice, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    /// <summary>The 8-byte length prefix plus the space-padded JSON header.</summary>
    internal static byte[] BuildHeader(IReadOnlyList<NamedTensor> tensors, IReadOnlyDictionary<string, string>? metadata)
    {
        var json = new ArrayBufferWriter<byte>();

        // The header is never embedded in HTML, so the relaxed encoder only keeps names readable
        // (a '+' stays '+'); quotes and control characters are still escaped.
        using (var writer = new Utf8JsonWriter(json, new JsonWriterOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            writer.WriteStartObject();
            if (metadata is { Count: > 0 })
            {
                writer.WriteStartObject(SafeTensors.MetadataKey);
                foreach (var (key, value) in metadata)
                {
                    writer.WriteString(key, value);
                }

                writer.WriteEndObject();
            }

            var names = new HashSet<string>(StringComparer.Ordinal);
            long offset = 0;
            foreach (var tensor in tensors)
            {
                ArgumentNullException.ThrowIfNull(tensor, nameof(tensors));
                if (tensor.Name == SafeTensors.MetadataKey)
                {
                    throw new ArgumentException($"A tensor cannot be named '{SafeTensors.MetadataKey}': the format reserves it.", nameof(tensors));
                }

                if (!names.Add(tensor.Name))
                {
                    throw new ArgumentException($"Tensor name '{tensor.Name}' appears twice; safetensors names are unique.", nameof(tensors));
                }

                writer.WriteStartObject(tensor.Name);
                writer.WriteString("dtype", tensor.DType.ToString());
                writer.WriteStartArray("shape");
                foreach (var dim in tensor.Shape)
                {
                    writer.WriteNumberValue(dim);
                }

                writer.WriteEndArray();
                writer.WriteStartArray("data_offsets");
                writer.WriteNumberValue(offset);
                offset += tensor.Data.Length;
                writer.WriteNumberValue(offset);
                writer.WriteEndArray();
                writer.WriteEndObject();
            }

            writer.WriteEndObject();
        }

        // Padding to 8 bytes keeps every tensor's data 8-byte aligned when the file is memory-mapped.
        var padded = (json.WrittenCount + 7) / 8 * 8;
        var bytes = new byte[8 + padded];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, (ulong)padded);
        json.WrittenSpan.CopyTo(bytes.AsSpan(8));
        bytes.AsSpan(8 + json.WrittenCount).Fill((byte)' ');
        return bytes;
    }
}
