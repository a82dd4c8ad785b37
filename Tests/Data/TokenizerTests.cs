using RnnCluster.Data;

namespace RnnCluster.Tests.Data;

public sealed class TokenizerTests
{
    [Fact]
    public void Word_level_splits_on_whitespace_and_ends_every_line_with_eos()
    {
        var tokens = Tokenizer.Tokenize("the  cat\tsat\r\n\n dogs run ", TextTokenizer.Word);

        Assert.Equal(["the", "cat", "sat", "<eos>", "<eos>", "dogs", "run", "<eos>"], tokens);
    }

    [Fact]
    public void A_final_line_without_newline_still_ends_with_eos_and_a_trailing_newline_adds_no_line()
    {
        Assert.Equal(["a", "<eos>"], Tokenizer.Tokenize("a", TextTokenizer.Word));
        Assert.Equal(["a", "<eos>"], Tokenizer.Tokenize("a\n", TextTokenizer.Word));
        Assert.Empty(Tokenizer.Tokenize(string.Empty, TextTokenizer.Word));
    }

    [Fact]
    public void Char_level_makes_each_unicode_scalar_a_token_spaces_included()
    {
        var tokens = Tokenizer.Tokenize("a é\r\n🙂b\n", TextTokenizer.Char);

        Assert.Equal(["a", " ", "é", "<eos>", "🙂", "b", "<eos>"], tokens);
    }

    [Fact]
    public void Encoding_maps_unknown_words_to_unk_and_decoding_restores_lines()
    {
        var vocabulary = Vocabulary.FromTokens(["<unk>", "<eos>", "the", "cat"]);

        var ids = Tokenizer.Encode("the cat\nthe dog\n", vocabulary);

        Assert.Equal([2, 3, 1, 2, 0, 1], ids);
        Assert.Equal("the cat\nthe <unk>\n", Tokenizer.Decode(ids, vocabulary));
    }

    [Fact]
    public void Char_level_decoding_concatenates()
    {
        var vocabulary = Vocabulary.FromTokens(["<unk>", "<eos>", "a", " ", "🙂"], TextTokenizer.Char);

        var ids = Tokenizer.Encode("a 🙂\na\n", vocabulary);

        Assert.Equal([2, 3, 4, 1, 2, 1], ids);
        Assert.Equal("a 🙂\na\n", Tokenizer.Decode(ids, vocabulary));
    }
}
