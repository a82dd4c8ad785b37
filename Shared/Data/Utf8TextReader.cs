using System.Buffers;
using System.Text;
using System.Text.Unicode;

namespace RnnCluster.Data;

/// <summary>
/// Reads a UTF-8 text file strictly. <see cref="Encoding.UTF8"/> silently substitutes U+FFFD, which
/// would hide a corpus saved in Latin-1 behind a vocabulary full of replacement characters; here the
/// user either sees the exact offset of the first bad byte or asks for replacement and gets a count.
/// </summary>
public static class Utf8TextReader
{
    private const int BomLength = 3;

    public static (string Text, long ReplacedBytes) Read(string path, Utf8Policy policy)
    {
        ArgumentNullException.ThrowIfNull(path);
        byte[] bytes;
        try
        {
            bytes = File.ReadAllBytes(path);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new DataException($"missing file {path}", e);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new DataException($"{path}: cannot read the file: {e.Message}", e);
        }

        return Decode(bytes, policy, path);
    }

    /// <summary>Decodes bytes as <see cref="Read"/> does; <paramref name="sourceName"/> only labels errors.</summary>
    public static (string Text, long ReplacedBytes) Decode(ReadOnlySpan<byte> bytes, Utf8Policy policy, string sourceName)
    {
        var start = bytes.StartsWith("\uFEFF"u8) ? BomLength : 0;
        var source = bytes[start..];

        // Valid UTF-8 never needs more UTF-16 units than it has bytes.
        var buffer = new char[source.Length];
        var written = 0;
        long replaced = 0;
        while (true)
        {
            var status = Utf8.ToUtf16(source, buffer.AsSpan(written), out var read, out var chars, replaceInvalidSequences: false);
            written += chars;
            source = source[read..];
            if (status == OperationStatus.Done)
            {
                break;
            }

            // InvalidData or NeedMoreData (a sequence truncated by the end of the file): both are bad bytes.
            var offset = bytes.Length - source.Length;
            if (policy == Utf8Policy.Error)
            {
                var line = bytes[..offset].Count((byte)'\n') + 1;
                throw new DataException(
                    $"{sourceName}: invalid UTF-8 at byte offset {offset} (line {line}; use data.invalid-utf8 = replace to substitute U+FFFD)");
            }

            // One U+FFFD per maximal invalid subsequence, as the Unicode standard recommends.
            _ = Rune.DecodeFromUtf8(source, out _, out var invalidLength);
            buffer[written++] = '\uFFFD';
            replaced += invalidLength;
            source = source[invalidLength..];
        }

        return (new string(buffer, 0, written), replaced);
    }
}
