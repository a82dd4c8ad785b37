using RnnCluster.Data;

namespace RnnCluster.Tests.Data;

public sealed class VocabularyTests
{
    [Fact]
    public void Ids_are_reserved_tokens_then_descending_count_with_ties_in_ordinal_order()
    {
        var vocabulary = Vocabulary.Build(["b", "a", "c", "B", "c", "a", "<eos>", "c"], minCount: 1);

        Assert.Equal(["<unk>", "<eos>", "c", "a", "B", "b"], vocabulary.Tokens);
        Assert.Equal(0, vocabulary.UnknownId);
        Assert.Equal(1, vocabulary.EndOfSentenceId);
        Assert.Equal(6, vocabulary.Count);
        Assert.Equal("a", vocabulary[3]);
    }

    [Fact]
    public void Tokens_rarer_than_min_count_are_left_out_and_map_to_unk()
    {
        var vocabulary = Vocabulary.Build(["x", "y", "x", "z", "x", "y"], minCount: 2);

        Assert.Equal(["<unk>", "<eos>", "x", "y"], vocabulary.Tokens);
        Assert.Equal(vocabulary.UnknownId, vocabulary.IdOf("z"));
        Assert.False(vocabulary.TryGetId("z", out _));
        Assert.True(vocabulary.TryGetId("y", out var id));
        Assert.Equal(3, id);
    }

    [Fact]
    public void Json_round_trip_keeps_tokens_ids_tokenizer_and_hash()
    {
        var vocabulary = Vocabulary.FromTokens(["<unk>", "<eos>", "é", "\"", "日"], TextTokenizer.Char);

        var json = vocabulary.ToJson();
        var back = Vocabulary.FromJson(json, "vocab.json");

        Assert.Contains("\"tokenizer\": \"char\"", json, StringComparison.Ordinal);
        Assert.Contains("\"日\"", json, StringComparison.Ordinal);
        Assert.Equal(vocabulary.Tokens, back.Tokens);
        Assert.Equal(TextTokenizer.Char, back.Tokenizer);
        Assert.Equal(vocabulary.Hash, back.Hash);
    }

    [Fact]
    public void The_hash_of_a_small_vocabulary_is_stable()
    {
        var vocabulary = Vocabulary.Build(["the", "cat", "the", "dog", "cat", "the"], minCount: 1);

        Assert.Equal(["<unk>", "<eos>", "the", "cat", "dog"], vocabulary.Tokens);
        // SHA-256 of "<unk>\n<eos>\nthe\ncat\ndog\n", computed once independently.
        Assert.Equal("87f27da7931d17125bebdca4d7c898fa8d2e84faa38a219a05668e6616350ebe", vocabulary.Hash);
    }

    [Fact]
    public void Json_without_the_reserved_tokens_first_is_refused_with_the_source_named()
    {
        var error = Assert.Throws<DataException>(
            () => Vocabulary.FromJson("{\"tokenizer\": \"word\", \"tokens\": [\"<eos>\", \"<unk>\"]}", "run/vocab.json"));

        Assert.StartsWith("run/vocab.json: a vocabulary starts with", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Json_with_a_duplicate_token_or_unknown_tokenizer_or_bad_syntax_is_refused()
    {
        Assert.Contains(
            "\"a\" appears twice",
            Assert.Throws<DataException>(() => Vocabulary.FromJson("{\"tokenizer\": \"word\", \"tokens\": [\"<unk>\", \"<eos>\", \"a\", \"a\"]}", "v")).Message,
            StringComparison.Ordinal);
        Assert.Contains(
            "unknown tokenizer \"bpe\"",
            Assert.Throws<DataException>(() => Vocabulary.FromJson("{\"tokenizer\": \"bpe\", \"tokens\": []}", "v")).Message,
            StringComparison.Ordinal);
        Assert.StartsWith(
            "v: invalid JSON",
            Assert.Throws<DataException>(() => Vocabulary.FromJson("{\"tokenizer\": ", "v")).Message,
            StringComparison.Ordinal);
    }
}
