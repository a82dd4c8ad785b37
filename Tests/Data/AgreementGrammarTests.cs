using RnnCluster.Common;
using RnnCluster.Data;

namespace RnnCluster.Tests.Data;

public sealed class AgreementGrammarTests
{
    private readonly AgreementGrammar _grammar = new();

    [Fact]
    public void Every_main_verb_agrees_with_its_subject()
    {
        var rng = new SeededRandom(42);
        for (var i = 0; i < 5000; i++)
        {
            var sentence = _grammar.Generate(rng);

            Assert.True(_grammar.TryGetWord(sentence.Words[sentence.SubjectIndex], out var subjectTag, out var subjectNumber));
            Assert.True(_grammar.TryGetWord(sentence.Words[sentence.VerbIndex], out var verbTag, out var verbNumber));
            Assert.Equal(PartOfSpeech.Noun, subjectTag);
            Assert.Equal(PartOfSpeech.Verb, verbTag);
            Assert.Equal(subjectNumber, verbNumber);
            Assert.Equal(sentence.SubjectNumber, subjectNumber);
            Assert.Equal(sentence.VerbNumber, verbNumber);
        }
    }

    [Fact]
    public void Attractors_appear_in_at_least_a_fifth_of_sentences()
    {
        var rng = new SeededRandom(7);
        var withAttractor = 0;
        const int count = 5000;
        for (var i = 0; i < count; i++)
        {
            var sentence = _grammar.Generate(rng);
            var recounted = 0;
            for (var j = sentence.SubjectIndex + 1; j < sentence.VerbIndex; j++)
            {
                if (_grammar.TryGetWord(sentence.Words[j], out var tag, out var number) && tag == PartOfSpeech.Noun && number != sentence.SubjectNumber)
                {
                    recounted++;
                }
            }

            Assert.Equal(recounted, sentence.AttractorCount);
            withAttractor += recounted > 0 ? 1 : 0;
        }

        Assert.True(withAttractor >= count / 5, $"only {withAttractor} of {count} sentences have an attractor");
    }

    [Fact]
    public void Tags_match_the_lexicon_and_sentences_end_with_a_period()
    {
        var rng = new SeededRandom(3);
        for (var i = 0; i < 1000; i++)
        {
            var sentence = _grammar.Generate(rng);

            Assert.Equal(".", sentence.Words[^1]);
            for (var j = 0; j < sentence.Words.Count; j++)
            {
                Assert.True(_grammar.TryGetWord(sentence.Words[j], out var tag, out _));
                Assert.Equal(tag, sentence.Tags[j]);
            }
        }
    }

    [Fact]
    public void Every_word_is_listed_once_and_sentences_use_a_and_an_correctly()
    {
        Assert.Equal(_grammar.Words.Count, _grammar.Words.Distinct(StringComparer.Ordinal).Count());
        var rng = new SeededRandom(9);
        for (var i = 0; i < 2000; i++)
        {
            var words = _grammar.Generate(rng).Words;
            for (var j = 0; j + 1 < words.Count; j++)
            {
                if (words[j] is "a" or "an")
                {
                    Assert.Equal(words[j] == "an", "aeiou".Contains(words[j + 1][0], StringComparison.Ordinal));
                }
            }
        }
    }

    [Fact]
    public void Tag_names_are_the_conventional_short_forms()
    {
        Assert.Equal(
            ["DET", "NOUN", "VERB", "ADJ", "PREP", "REL", "PUNCT"],
            Enum.GetValues<PartOfSpeech>().Select(tag => tag.ToTag()));
    }
}
