namespace RnnCluster.Model.Checkpoints;

/// <summary>
/// Reads and writes the safetensors format (https://github.com/huggingface/safetensors): an 8-byte
/// little-endian header length N, N bytes of UTF-8 JSON padded with spaces to a multiple of 8, then the
/// tensors' bytes back to back. Chosen because PyTorch, NumPy and JAX load it without running code.
/// </summary>
public static class SafeTensors
{
    /// <summary>Key of the string-to-string metadata object in the header, as the format defines it.</summary>
    public const string MetadataKey = "__metadata__";

    /// <summary>The reference implementation refuses larger headers; so do we, to bound memory on garbage input.</summary>
    public const long MaxHeaderBytes = 100_000_000;

    /// <summary>Reads and fully validates <paramref name="path"/>; every problem is a <see cref="CheckpointException"/> naming it.</summary>
    public static SafeTensorsFile Read(string path) => SafeTensorsReader.Read(path);

    /// <summary>
    /// Streams the tensors, in the order given, to a new file at <paramref name="path"/> (which must not
    /// exist) and flushes it to disk.
    /// </summary>
    public static async Task WriteAsync(
        string path,
        IReadOnlyList<NamedTensor> tensors,
        IReadOnlyDictionary<string, string>? metadata,
        CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var stream = DurableFile.CreateNew(path);
        await using (stream.ConfigureAwait(false))
        {
            await WriteAsync(stream, tensors, metadata, cancellationToken).ConfigureAwait(false);
            stream.Flush(flushToDisk: true);
        }
    }

    /// <summary>Streams the tensors, in the order given, to <paramref name="destination"/>; the caller owns flushing and disposal.</summary>
    public static Task WriteAsync(
        Stream destination,
        IReadOnlyList<NamedTensor> tensors,
        IReadOnlyDictionary<string, string>? metadata,
        CancellationToken cancellationToken) =>
        SafeTensorsWriter.WriteAsync(destination, tensors, metadata, cancellationToken);
}
