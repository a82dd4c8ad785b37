using System.Buffers.Binary;
using System.Text.Json;

namespace RnnCluster.Model.Checkpoints;

/// <summary>
/// Reads safetensors with the reference implementation's rules: the header must fit in the file, and
/// the tensors must tile the data section exactly (from 0, no gaps, no overlaps, nothing after).
/// A file that breaks any rule is refused rather than half-read, because it is a checkpoint we would
/// otherwise resume from.
/// </summary>
internal static class SafeTensorsReader
{
    private sealed record Entry(string Name, TensorDType DType, long[] Shape, long Begin, long End);

    public static SafeTensorsFile Read(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        try
        {
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1 << 16);
            return Read(stream, path);
        }
        catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new CheckpointException($"safetensors file {path} does not exist.", ex);
        }
        catch (IOException ex)
        {
            throw new CheckpointException($"safetensors file {path} could not be read: {ex.Message}", ex);
        }
    }

    private static SafeTensorsFile Read(FileStream stream, string path)
    {
        var fileLength = stream.Length;
        if (fileLength < 8)
        {
            throw Malformed(path, $"the file has {fileLength} bytes, fewer than the 8-byte header length");
        }

        Span<byte> prefix = stackalloc byte[8];
        stream.ReadExactly(prefix);
        var headerLength = BinaryPrimitives.ReadUInt64LittleEndian(prefix);
        if (headerLength > (ulong)(fileLength - 8))
        {
            throw Malformed(path, $"header length {headerLength} runs past the end of the {fileLength}-byte file (truncated?)");
        }

        if (headerLength > SafeTensors.MaxHeaderBytes)
        {
            throw Malformed(path, $"header length {headerLength} exceeds the limit of {SafeTensors.MaxHeaderBytes} bytes");
        }

        var header = new byte[(int)headerLength];
        stream.ReadExactly(header);
        var dataLength = fileLength - 8 - (long)headerLength;
        var (entries, metadata) = ParseHeader(header, path);
        CheckTiling(entries, dataLength, path);

        var tensors = new List<NamedTensor>(entries.Count);
        foreach (var entry in entries)
        {
            var length = entry.End - entry.Begin;
            if (length > Array.MaxLength)
            {
                throw Malformed(path, $"tensor '{entry.Name}' has {length} bytes, more than one array can hold");
            }

            var data = new byte[length];
            stream.ReadExactly(data);
            tensors.Add(new NamedTensor(entry.Name, entry.DType, entry.Shape, data));
        }

        return new SafeTensorsFile(tensors, metadata);
    }

    private static (List<Entry> Entries, Dictionary<string, string> Metadata) ParseHeader(byte[] header, string path)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(header, new JsonDocumentOptions { MaxDepth = 8 });
        }
        catch (JsonException ex)
        {
            throw Malformed(path, $"the header is not valid JSON (line {ex.LineNumber + 1}, byte {ex.BytePositionInLine}): {ex.Message}", ex);
        }

        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                throw Malformed(path, $"the header is a JSON {root.ValueKind}, not an object");
            }

            var entries = new List<Entry>();
            var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
            var seen = new HashSet<string>(StringComparer.Ordinal);
            foreach (var property in root.EnumerateObject())
            {
                // JsonDocument keeps duplicate keys; a second tensor of the same name would be ambiguous.
                if (!seen.Add(property.Name))
                {
                    throw Malformed(path, $"the header names '{property.Name}' twice");
                }

                if (property.Name == SafeTensors.MetadataKey)
                {
                    ParseMetadata(property.Value, metadata, path);
                }
                else
                {
                    entries.Add(ParseEntry(property.Name, property.Value, path));
                }
            }

            return (entries, metadata);
        }
    }

    private static void ParseMetadata(JsonElement value, Dictionary<string, string> metadata, string path)
    {
        if (value.ValueKind != JsonValueKind.Object)
        {
            throw Malformed(path, $"'{SafeTensors.MetadataKey}' is a JSON {value.ValueKind}, not an object of strings");
        }

        foreach (var item in value.EnumerateObject())
        {
            if (item.Value.ValueKind != JsonValueKind.String)
            {
                throw Malformed(path, $"metadata '{item.Name}' is a JSON {item.Value.ValueKind}, not a string");
            }

            if (!metadata.TryAdd(item.Name, item.Value.GetString()!))
            {
                throw Malformed(path, $"metadata names '{item.Name}' twice");
            }
        }
    }

    private static Entry ParseEntry(string name, JsonElement value, string path)
    {
        if (name.Length == 0)
        {
            throw Malformed(path, "a tensor has an empty name");
        }

        if (value.ValueKind != JsonValueKind.Object)
        {
            throw Malformed(path, $"tensor '{name}' is a JSON {value.ValueKind}, not an object");
        }

        JsonElement? dtypeElement = null, shapeElement = null, offsetsElement = null;
        foreach (var field in value.EnumerateObject())
        {
            switch (field.Name)
            {
                case "dtype": dtypeElement = field.Value; break;
                case "shape": shapeElement = field.Value; break;
                case "data_offsets": offsetsElement = field.Value; break;
                default: throw Malformed(path, $"tensor '{name}' has an unknown field '{field.Name}'");
            }
        }

        if (dtypeElement is not { ValueKind: JsonValueKind.String } dt)
        {
            throw Malformed(path, $"tensor '{name}' has no string 'dtype'");
        }

        var dtype = dt.GetString() switch
        {
            "F32" => TensorDType.F32,
            "F64" => TensorDType.F64,
            "I64" => TensorDType.I64,
            "U8" => TensorDType.U8,
            var other => throw Malformed(path, $"tensor '{name}' has dtype '{other}'; this build reads F32, F64, I64 and U8"),
        };

        var shape = ReadIntegers(shapeElement, name, "shape", path);
        var offsets = ReadIntegers(offsetsElement, name, "data_offsets", path);
        if (offsets.Length != 2 || offsets[0] > offsets[1])
        {
            throw Malformed(path, $"tensor '{name}' has data_offsets [{string.Join(", ", offsets)}]; expected [begin, end] with begin <= end");
        }

        long expected;
        try
        {
            expected = NamedTensor.ElementSize(dtype);
            foreach (var dim in shape)
            {
                expected = checked(expected * dim);
            }
        }
        catch (OverflowException ex)
        {
            throw Malformed(path, $"tensor '{name}' has shape [{string.Join(", ", shape)}], too large to address", ex);
        }

        var actual = offsets[1] - offsets[0];
        if (actual != expected)
        {
            throw Malformed(path, $"tensor '{name}' spans {actual} bytes but shape [{string.Join(", ", shape)}] of {dtype} needs {expected}");
        }

        return new Entry(name, dtype, shape, offsets[0], offsets[1]);
    }

    private static long[] ReadIntegers(JsonElement? element, string name, string field, string path)
    {
        if (element is not { ValueKind: JsonValueKind.Array } array)
        {
            throw Malformed(path, $"tensor '{name}' has no array '{field}'");
        }

        var values = new long[array.GetArrayLength()];
        var i = 0;
        foreach (var item in array.EnumerateArray())
        {
            if (item.ValueKind != JsonValueKind.Number || !item.TryGetInt64(out var v) || v < 0)
            {
                throw Malformed(path, $"tensor '{name}' has '{field}' item {item.GetRawText()}; expected a non-negative integer");
            }

            values[i++] = v;
        }

        return values;
    }

    /// <summary>Sorts the entries by position and checks that they cover the data section exactly once.</summary>
    private static void CheckTiling(List<Entry> entries, long dataLength, string path)
    {
        entries.Sort((a, b) => a.Begin != b.Begin ? a.Begin.CompareTo(b.Begin) : a.End.CompareTo(b.End));
        long position = 0;
        Entry? previous = null;
        foreach (var entry in entries)
        {
            if (entry.Begin < position)
            {
                throw Malformed(path, $"tensor '{entry.Name}' (bytes {entry.Begin}..{entry.End}) overlaps tensor '{previous!.Name}' (bytes {previous.Begin}..{previous.End})");
            }

            if (entry.Begin > position)
            {
                throw Malformed(path, $"bytes {position}..{entry.Begin} of the data section belong to no tensor (gap before '{entry.Name}')");
            }

            if (entry.End > dataLength)
            {
                throw Malformed(path, $"tensor '{entry.Name}' ends at byte {entry.End} but the data section has only {dataLength} bytes (truncated?)");
            }

            position = entry.End;
            previous = entry;
        }

        if (position != dataLength)
        {
            throw Malformed(path, $"the data section has {dataLength} bytes but the tensors cover only {position}");
        }
    }

    private static CheckpointException Malformed(string path, string problem, Exception? inner = null) =>
        inner is null
            ? new CheckpointException($"safetensors file {path} is malformed: {problem}.")
            : new CheckpointException($"safetensors file {path} is malformed: {problem}.", inner);
}
