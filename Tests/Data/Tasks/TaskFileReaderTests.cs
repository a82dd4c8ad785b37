using RnnCluster.Data;
using RnnCluster.Data.Tasks;
using RnnCluster.Tests.Support;

namespace RnnCluster.Tests.Data.Tasks;

public sealed class TaskFileReaderTests
{
    [Fact]
    public void A_tsv_file_gives_labelled_sequences_with_their_lines_skipping_blank_lines_and_carriage_returns()
    {
        using var dir = new TempDirectory();
        var path = dir.Write("train.tsv", "spam\tbuy now\r\n\nham\tsee you at noon\n");

        var file = TaskFileReader.ReadLabelled(path, Utf8Policy.Error);

        Assert.Equal(
            [new LabelledSequence("spam", "buy now", new SourcePosition(path, 1)), new LabelledSequence("ham", "see you at noon", new SourcePosition(path, 3))],
            file.Examples);
        Assert.Equal(0, file.ReplacedBytes);
    }

    [Fact]
    public void A_line_without_a_tab_is_named_by_file_and_line()
    {
        using var dir = new TempDirectory();
        var path = dir.Write("train.tsv", "spam\tbuy now\nham see you\n");

        var error = Assert.Throws<DataException>(() => TaskFileReader.ReadLabelled(path, Utf8Policy.Error));

        Assert.Equal($"{path}:2: expected 'label<TAB>text' but the line has no tab: \"ham see you\"", error.Message);
    }

    [Fact]
    public void A_line_with_three_fields_is_refused()
    {
        var error = Assert.Throws<DataException>(() => TaskFileReader.ParsePairs("abc\tcba\nab\tba\textra\n", "pairs.tsv"));

        Assert.Equal("pairs.tsv:2: expected 'source<TAB>target' but the line has 3 tab-separated fields (a target may not contain a tab)", error.Message);
    }

    [Theory]
    [InlineData("\tbuy now\n", "x.tsv:1: empty label before the tab")]
    [InlineData("spam\t  \n", "x.tsv:1: empty text after the tab")]
    [InlineData("spam\t\n", "x.tsv:1: empty text after the tab")]
    public void Empty_labels_and_texts_are_named(string text, string expected)
    {
        var error = Assert.Throws<DataException>(() => TaskFileReader.ParseLabelled(text, "x.tsv"));

        Assert.Equal(expected, error.Message);
    }

    [Fact]
    public void An_empty_tsv_file_is_an_empty_data_set_error()
    {
        using var dir = new TempDirectory();
        var path = dir.Write("valid.tsv", "\n  \n");

        var error = Assert.Throws<DataException>(() => TaskFileReader.ReadPairs(path, Utf8Policy.Error));

        Assert.Equal($"{path}: empty data set (no 'source<TAB>target' lines)", error.Message);
    }

    [Fact]
    public void Conll_sentences_end_at_blank_lines_and_remember_their_first_line()
    {
        var sentences = TaskFileReader.ParseTagged("the\tDET\ndog\tNOUN\n\n\n\ndogs\tNOUN\nrun\tVERB\n.\tPUNCT", "t.conll");

        Assert.Equal(2, sentences.Count);
        Assert.Equal(["the", "dog"], sentences[0].Tokens);
        Assert.Equal(["DET", "NOUN"], sentences[0].Tags);
        Assert.Equal(new SourcePosition("t.conll", 1), sentences[0].Position);
        Assert.Equal(["dogs", "run", "."], sentences[1].Tokens);
        Assert.Equal(new SourcePosition("t.conll", 6), sentences[1].Position);
    }

    [Theory]
    [InlineData("the\tDET\ndog NOUN\n", "t.conll:2: expected 'token<TAB>tag' but the line has no tab: \"dog NOUN\"")]
    [InlineData("the\tDET\ndog\t\n", "t.conll:2: empty tag after the tab")]
    [InlineData("the\tDET\tx\n", "t.conll:1: expected 'token<TAB>tag' but the line has 3 tab-separated fields (a tag may not contain a tab)")]
    public void Malformed_conll_lines_are_named(string text, string expected)
    {
        var error = Assert.Throws<DataException>(() => TaskFileReader.ParseTagged(text, "t.conll"));

        Assert.Equal(expected, error.Message);
    }

    [Fact]
    public void A_conll_file_of_blank_lines_is_an_empty_data_set_error()
    {
        var error = Assert.Throws<DataException>(() => TaskFileReader.ParseTagged("\n\n", "t.conll"));

        Assert.Equal("t.conll: empty data set (no 'token<TAB>tag' lines)", error.Message);
    }

    [Fact]
    public void A_tagged_sequence_with_fewer_tags_than_tokens_is_refused()
    {
        var error = Assert.Throws<DataException>(() => new TaggedSequence(["a", "b"], ["X"], new SourcePosition("f", 3)));

        Assert.Equal("f:3: 2 tokens but 1 tags", error.Message);
    }

    [Fact]
    public void Invalid_utf8_names_the_file_and_offset()
    {
        using var dir = new TempDirectory();
        var path = dir.WriteBytes("train.tsv", [(byte)'a', (byte)'\t', 0xC3, 0x28, (byte)'\n']);

        var error = Assert.Throws<DataException>(() => TaskFileReader.ReadLabelled(path, Utf8Policy.Error));

        Assert.StartsWith($"{path}: invalid UTF-8 at byte offset 2 (line 1", error.Message, StringComparison.Ordinal);
    }
}
