using RnnCluster.Data;

using RnnCluster.Tests.Support;

namespace RnnCluster.Tests.Data;

public sealed class Utf8TextReaderTests
{
    [Fact]
    public void An_invalid_byte_is_reported_with_its_exact_offset_and_line()
    {
        using var dir = new TempDirectory();
        // "ab\ncd" then a Latin-1 'é' (0xE9 followed by an ASCII byte is not a valid sequence) at offset 5.
        var path = dir.WriteBytes("train.txt", [0x61, 0x62, 0x0A, 0x63, 0x64, 0xE9, 0x66, 0x0A]);

        var error = Assert.Throws<DataException>(() => Utf8TextReader.Read(path, Utf8Policy.Error));

        Assert.Equal(
            $"{path}: invalid UTF-8 at byte offset 5 (line 2; use data.invalid-utf8 = replace to substitute U+FFFD)",
            error.Message);
    }

    [Fact]
    public void A_sequence_truncated_by_the_end_of_the_file_is_invalid()
    {
        using var dir = new TempDirectory();
        var path = dir.WriteBytes("t.txt", [0x61, 0xE2, 0x82]);

        var error = Assert.Throws<DataException>(() => Utf8TextReader.Read(path, Utf8Policy.Error));

        Assert.Contains("invalid UTF-8 at byte offset 1 ", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_offset_counts_the_byte_order_mark()
    {
        using var dir = new TempDirectory();
        var path = dir.WriteBytes("t.txt", [0xEF, 0xBB, 0xBF, 0x61, 0xFF]);

        var error = Assert.Throws<DataException>(() => Utf8TextReader.Read(path, Utf8Policy.Error));

        Assert.Contains("at byte offset 4 ", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Replace_substitutes_one_replacement_character_per_invalid_sequence_and_counts_the_bytes()
    {
        using var dir = new TempDirectory();
        // 0xFF (1 byte), then E2 82 (a truncated 3-byte sequence: 2 bytes, one U+FFFD), then 0xC0 0xAF (overlong: 2 × 1 byte).
        var path = dir.WriteBytes("t.txt", [0x61, 0xFF, 0x62, 0xE2, 0x82, 0x63, 0xC0, 0xAF, 0x64]);

        var (text, replaced) = Utf8TextReader.Read(path, Utf8Policy.Replace);

        Assert.Equal("a\uFFFDb\uFFFDc\uFFFD\uFFFDd", text);
        Assert.Equal(5, replaced);
    }

    [Fact]
    public void Valid_text_reads_unchanged_with_nothing_replaced()
    {
        using var dir = new TempDirectory();
        var path = dir.Write("t.txt", "naïve 日本 🙂\n");

        var (text, replaced) = Utf8TextReader.Read(path, Utf8Policy.Replace);

        Assert.Equal("naïve 日本 🙂\n", text);
        Assert.Equal(0, replaced);
    }

    [Fact]
    public void A_leading_byte_order_mark_is_skipped()
    {
        using var dir = new TempDirectory();
        var path = dir.WriteBytes("t.txt", [0xEF, 0xBB, 0xBF, 0x68, 0x69]);

        var (text, replaced) = Utf8TextReader.Read(path, Utf8Policy.Error);

        Assert.Equal("hi", text);
        Assert.Equal(0, replaced);
    }

    [Fact]
    public void A_missing_file_is_named()
    {
        using var dir = new TempDirectory();
        var path = System.IO.Path.Combine(dir.Path, "x.txt");

        var error = Assert.Throws<DataException>(() => Utf8TextReader.Read(path, Utf8Policy.Error));

        Assert.Equal($"missing file {path}", error.Message);
    }
}
