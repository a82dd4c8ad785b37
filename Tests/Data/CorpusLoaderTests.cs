using RnnCluster.Data;

using RnnCluster.Tests.Support;

namespace RnnCluster.Tests.Data;

public sealed class CorpusLoaderTests
{
    private static readonly CorpusOptions Options = new() { ValidFraction = 0.2, TestFraction = 0.2 };

    [Fact]
    public void One_file_is_split_by_line_into_contiguous_train_valid_and_test()
    {
        using var dir = new TempDirectory();
        var path = dir.Write("all.txt", "a b\na c\na b\nb d\nc e\n");

        var corpus = CorpusLoader.Load(path, Options);

        // 5 lines: 3 train, 1 valid, 1 test. Train tokens: a b <eos> a c <eos> a b <eos>.
        Assert.Equal(["<unk>", "<eos>", "a", "b", "c"], corpus.Vocabulary.Tokens);
        Assert.Equal([2, 3, 1, 2, 4, 1, 2, 3], corpus.Train.Inputs);
        Assert.Equal([3, 1, 2, 4, 1, 2, 3, 1], corpus.Train.Targets);
        // "b d": d was never seen in training.
        Assert.Equal([3, 0], corpus.Valid.Inputs);
        Assert.Equal([0, 1], corpus.Valid.Targets);
        Assert.Equal([4, 0], corpus.Test.Inputs);
        Assert.Equal(CorpusTask.LanguageModel, corpus.Task);
        Assert.Equal(path, corpus.Source);
    }

    [Fact]
    public void Too_few_lines_for_the_fractions_is_a_clear_error()
    {
        using var dir = new TempDirectory();
        var path = dir.Write("all.txt", "a b\nc d\n");

        var error = Assert.Throws<DataException>(() => CorpusLoader.Load(path, Options));

        Assert.StartsWith($"{path}: 2 lines cannot be split into train/valid/test", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Min_count_applies_to_the_training_split_only()
    {
        using var dir = new TempDirectory();
        var path = dir.Write("all.txt", "a a b\na c\nc c\nb b\nb b\n");

        var corpus = CorpusLoader.Load(path, Options with { MinCount = 2 });

        // Training lines 1-3 count a:3, c:3, b:1.
        Assert.Equal(["<unk>", "<eos>", "a", "c"], corpus.Vocabulary.Tokens);
        Assert.Equal([0, 1], corpus.Valid.Targets[..2]);
    }

    [Fact]
    public void A_directory_needs_all_three_files_and_the_error_names_the_missing_one()
    {
        using var dir = new TempDirectory();
        dir.Write("train.txt", "a\n");
        dir.Write("test.txt", "a\n");

        var error = Assert.Throws<DataException>(() => CorpusLoader.Load(dir.Path, Options));

        Assert.StartsWith($"missing file {Path.Combine(dir.Path, "valid.txt")}", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_directory_corpus_builds_the_vocabulary_from_train_txt()
    {
        using var dir = new TempDirectory();
        dir.Write("train.txt", "x y\nx\n");
        dir.Write("valid.txt", "y z\n");
        dir.Write("test.txt", "x\n");

        var corpus = CorpusLoader.Load(dir.Path, Options);

        Assert.Equal(["<unk>", "<eos>", "x", "y"], corpus.Vocabulary.Tokens);
        Assert.Equal([3, 0], corpus.Valid.Inputs);
        Assert.Equal([2], corpus.Test.Inputs);
        Assert.Equal([1], corpus.Test.Targets);
    }

    [Fact]
    public void An_empty_corpus_is_refused_naming_the_file()
    {
        using var dir = new TempDirectory();
        var path = dir.Write("all.txt", " \n\n");

        var error = Assert.Throws<DataException>(() => CorpusLoader.Load(path, Options));

        Assert.Equal($"{path}: the corpus is empty", error.Message);
    }

    [Fact]
    public void An_empty_train_txt_is_refused_naming_it()
    {
        using var dir = new TempDirectory();
        var train = dir.Write("train.txt", string.Empty);
        dir.Write("valid.txt", "a\n");
        dir.Write("test.txt", "a\n");

        var error = Assert.Throws<DataException>(() => CorpusLoader.Load(dir.Path, Options));

        Assert.Equal($"{train}: the corpus is empty", error.Message);
    }

    [Fact]
    public void A_missing_file_spec_is_named()
    {
        using var dir = new TempDirectory();
        var path = Path.Combine(dir.Path, "x.txt");

        var error = Assert.Throws<DataException>(() => CorpusLoader.Load(path, Options));

        Assert.Equal($"missing file {path}", error.Message);
    }

    [Fact]
    public void An_unknown_builtin_lists_the_known_ones()
    {
        var error = Assert.Throws<DataException>(() => CorpusLoader.Load("builtin:foo", Options));

        Assert.Equal("unknown builtin corpus 'foo' (known: builtin:agreement, builtin:parity)", error.Message);
    }

    [Fact]
    public void Replaced_bytes_are_summed_over_the_files_read()
    {
        using var dir = new TempDirectory();
        dir.WriteBytes("train.txt", [0x61, 0xFF, 0x0A]);
        dir.WriteBytes("valid.txt", [0x61, 0xFE, 0xFE, 0x0A]);
        dir.Write("test.txt", "a\n");

        var corpus = CorpusLoader.Load(dir.Path, Options with { Utf8Policy = Utf8Policy.Replace });

        Assert.Equal(3, corpus.ReplacedBytes);
    }

    [Fact]
    public void Evaluation_encodes_a_whole_file_with_the_given_vocabulary()
    {
        using var dir = new TempDirectory();
        var path = dir.Write("eval.txt", "a q\n");
        var vocabulary = Vocabulary.FromTokens(["<unk>", "<eos>", "a"]);

        var split = CorpusLoader.LoadForEvaluation(path, vocabulary, Options);

        Assert.Equal([2, 0], split.Inputs);
        Assert.Equal([0, 1], split.Targets);
    }

    [Fact]
    public void Evaluation_of_a_builtin_is_its_test_split()
    {
        var options = Options with { BuiltinSentences = 50, BuiltinSeed = 3 };
        var corpus = CorpusLoader.Load("builtin:agreement", options);

        var split = CorpusLoader.LoadForEvaluation("builtin:agreement", corpus.Vocabulary, options);

        Assert.Equal(corpus.Test.Inputs, split.Inputs);
        Assert.Equal(corpus.Test.Targets, split.Targets);
    }

    [Fact]
    public void Both_builtins_repeat_for_a_seed_and_change_with_it()
    {
        foreach (var name in new[] { "builtin:agreement", "builtin:parity" })
        {
            var options = Options with { BuiltinSentences = 300, BuiltinSeed = 11 };
            var first = CorpusLoader.Load(name, options);
            var again = CorpusLoader.Load(name, options);
            var other = CorpusLoader.Load(name, options with { BuiltinSeed = 12 });

            Assert.Equal(first.Train.Inputs, again.Train.Inputs);
            Assert.Equal(first.Valid.Inputs, again.Valid.Inputs);
            Assert.Equal(first.Test.Targets, again.Test.Targets);
            Assert.Equal(first.Vocabulary.Hash, again.Vocabulary.Hash);
            Assert.NotEqual(first.Train.Inputs, other.Train.Inputs);
            Assert.NotEqual(first.Train.Inputs[..1000], first.Valid.Inputs[..1000]);
            Assert.NotEqual(first.Valid.Inputs[..1000], first.Test.Inputs[..1000]);
        }
    }

    [Fact]
    public void Builtin_agreement_text_is_pinned_for_seed_1()
    {
        var corpus = CorpusLoader.Load("builtin:agreement", Options with { BuiltinSentences = 6, BuiltinSeed = 1 });
        int[] ids = [corpus.Train.Inputs[0], .. corpus.Train.Targets];

        Assert.Equal(PinnedAgreementText, Tokenizer.Decode(ids, corpus.Vocabulary));
    }

    [Fact]
    public void Parity_targets_are_the_running_parity_and_eos_is_ignored()
    {
        var corpus = CorpusLoader.Load("builtin:parity", Options with { BuiltinSentences = 40, ParityLength = 7, BuiltinSeed = 5 });
        var vocabulary = corpus.Vocabulary;

        Assert.Equal(["<unk>", "<eos>", "0", "1"], vocabulary.Tokens);
        Assert.Equal(CorpusTask.Tagging, corpus.Task);
        Assert.Equal(40 * 8, corpus.Train.Length);
        Assert.Equal(200 * 8, corpus.Valid.Length);
        Assert.Equal(200 * 8, corpus.Test.Length);
        var parity = 0;
        for (var i = 0; i < corpus.Train.Length; i++)
        {
            var input = corpus.Train.Inputs[i];
            if (i % 8 == 7)
            {
                Assert.Equal(vocabulary.EndOfSentenceId, input);
                Assert.Equal(TokenSplit.Ignored, corpus.Train.Targets[i]);
                parity = 0;
                continue;
            }

            parity ^= vocabulary[input] == "1" ? 1 : 0;
            Assert.Equal(parity == 1 ? "1" : "0", vocabulary[corpus.Train.Targets[i]]);
        }
    }

    [Fact]
    public void Builtin_agreement_uses_the_whole_lexicon_and_sizes_held_out_splits()
    {
        var corpus = CorpusLoader.Load("builtin:agreement", Options with { BuiltinSentences = 6000 });

        Assert.Equal(2 + new AgreementGrammar().Words.Count, corpus.Vocabulary.Count);
        Assert.InRange(corpus.Vocabulary.Count, 100, 200);
        Assert.Equal(6000, corpus.Train.Targets.Count(id => id == corpus.Vocabulary.EndOfSentenceId));
        Assert.Equal(600, corpus.Valid.Targets.Count(id => id == corpus.Vocabulary.EndOfSentenceId));
        Assert.Equal(600, corpus.Test.Targets.Count(id => id == corpus.Vocabulary.EndOfSentenceId));
        Assert.DoesNotContain(corpus.Vocabulary.UnknownId, corpus.Train.Inputs);
    }

    // Pinned so that a change to the grammar or to SeededRandom, which would silently change every
    // experiment's data, fails here first.
    private const string PinnedAgreementText =
        "the door is red .\n" +
        "the tall woman waits .\n" +
        "the garden that is heavy is new .\n" +
        "the farmer who carries the farmer is new .\n" +
        "a pilot beside some rivers with a tree follows the painters .\n" +
        "the painters under the senators run .\n";
}
