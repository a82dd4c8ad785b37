using RnnCluster.Common;
using RnnCluster.Data;
using RnnCluster.Data.Tasks;

namespace RnnCluster.Tests.Data.Tasks;

public sealed class BuiltinTasksTests
{
    private readonly AgreementGrammar _grammar = new();

    [Theory]
    [InlineData(BuiltinTasks.AgreementNumber, TaskKind.Acceptor)]
    [InlineData(BuiltinTasks.Tagging, TaskKind.Transducer)]
    [InlineData(BuiltinTasks.Reverse, TaskKind.EncoderDecoder)]
    public void The_same_seed_gives_the_same_data_and_another_seed_other_data(string spec, TaskKind kind)
    {
        var a = TaskLoader.Load(spec, new TaskOptions { BuiltinSentences = 200, BuiltinSeed = 5 });
        var b = TaskLoader.Load(spec, new TaskOptions { BuiltinSentences = 200, BuiltinSeed = 5 });
        var c = TaskLoader.Load(spec, new TaskOptions { BuiltinSentences = 200, BuiltinSeed = 6 });

        Assert.Equal(kind, a.Kind);
        Assert.Equal((200, 500, 500), (a.Train.Count, a.Valid.Count, a.Test.Count));
        Assert.Equal(a.Train.Sources, b.Train.Sources);
        Assert.Equal(a.Test.Sources, b.Test.Sources);
        Assert.Equal(a.Train.Labels, b.Train.Labels);
        Assert.Equal(a.Train.Targets, b.Train.Targets);
        Assert.NotEqual(a.Train.Sources, c.Train.Sources);
        Assert.Equal(a.SourceVocabulary.Hash, c.SourceVocabulary.Hash);
    }

    [Fact]
    public void A_larger_training_set_leaves_the_held_out_splits_unchanged()
    {
        var small = TaskLoader.Load(BuiltinTasks.Reverse, new TaskOptions { BuiltinSentences = 100 });
        var large = TaskLoader.Load(BuiltinTasks.Reverse, new TaskOptions { BuiltinSentences = 3000 });

        Assert.Equal(small.Valid.Sources, large.Valid.Sources);
        Assert.Equal(small.Train.Sources, large.Train.Sources[..100]);
    }

    [Fact]
    public void Agreement_number_labels_are_the_number_of_the_subject_the_grammar_tagged()
    {
        var examples = BuiltinTasks.AgreementNumberExamples(new SeededRandom(3), 3000, "t");
        var plural = 0;

        foreach (var example in examples)
        {
            // The prefix stops before the main verb; its first noun is the subject's head.
            var words = example.Text.Split(' ');
            var subject = words.First(w => _grammar.TryGetWord(w, out var tag, out _) && tag == PartOfSpeech.Noun);
            Assert.True(_grammar.TryGetWord(subject, out _, out var number));
            Assert.Equal(BuiltinTasks.NumberLabel(number!.Value), example.Label);
            Assert.DoesNotContain(words, w => _grammar.TryGetWord(w, out var tag, out _) && tag == PartOfSpeech.Punctuation);
            plural += example.Label == "plural" ? 1 : 0;
        }

        Assert.InRange(plural, 1300, 1700);
    }

    [Fact]
    public void Agreement_number_prefixes_end_right_before_the_main_verb()
    {
        var rng = new SeededRandom(21);
        var generated = new SeededRandom(21);
        var examples = BuiltinTasks.AgreementNumberExamples(rng, 500, "t");

        foreach (var example in examples)
        {
            var sentence = _grammar.Generate(generated);
            Assert.Equal(string.Join(' ', sentence.Words.Take(sentence.VerbIndex)), example.Text);
            Assert.Equal(BuiltinTasks.NumberLabel(sentence.VerbNumber), example.Label);
        }
    }

    [Fact]
    public void Tagging_tags_are_the_grammar_parts_of_speech_of_each_word()
    {
        var data = TaskLoader.Load(BuiltinTasks.Tagging, new TaskOptions { BuiltinSentences = 300 });

        for (var i = 0; i < data.Train.Count; i++)
        {
            var words = data.Train.Sources[i];
            var tags = data.Train.Targets![i];
            Assert.Equal(words.Length, tags.Length);
            for (var t = 0; t < words.Length; t++)
            {
                Assert.True(_grammar.TryGetWord(data.SourceVocabulary[words[t]], out var tag, out _));
                Assert.Equal(tag.ToTag(), data.Labels![tags[t]]);
            }
        }
    }

    [Fact]
    public void Reverse_targets_are_the_sources_reversed_over_ten_symbols_of_length_one_to_eight()
    {
        var data = TaskLoader.Load(BuiltinTasks.Reverse, new TaskOptions { BuiltinSentences = 2000 });
        var lengths = new HashSet<int>();

        for (var i = 0; i < data.Train.Count; i++)
        {
            var source = data.Train.Sources[i];
            var target = data.Train.Targets![i];
            Assert.Equal(source.Reverse().Select(id => data.SourceVocabulary[id]), target.Select(id => data.TargetVocabulary![id]));
            Assert.All(source, id => Assert.Contains(data.SourceVocabulary[id], BuiltinTasks.ReverseAlphabet, StringComparison.Ordinal));
            lengths.Add(source.Length);
        }

        Assert.Equal(Enumerable.Range(1, 8), lengths.Order());
        Assert.Equal(10 + TaskVocabulary.FirstTokenId, data.SourceVocabulary.Count);
    }
}
