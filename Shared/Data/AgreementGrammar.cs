using RnnCluster.Common;

namespace RnnCluster.Data;

/// <summary>
/// A small probabilistic grammar of English-like sentences whose main verb agrees in number with a
/// subject that is often separated from it by nouns of the other number ("attractors") inside
/// prepositional phrases and relative clauses, after Linzen, Dupoux and Goldberg (2016), "Assessing
/// the ability of LSTMs to learn syntax-sensitive dependencies". Every noun's number is a fair coin,
/// so the nearest noun predicts the verb's number no better than chance when an attractor intervenes.
/// Animacy keeps the sentences plausible (only animate subjects write or sleep).
/// </summary>
public sealed class AgreementGrammar
{
    private static readonly (string Singular, string Plural, bool Animate)[] Nouns =
    [
        ("dog", "dogs", true), ("cat", "cats", true), ("author", "authors", true), ("child", "children", true),
        ("teacher", "teachers", true), ("farmer", "farmers", true), ("pilot", "pilots", true), ("doctor", "doctors", true),
        ("student", "students", true), ("boy", "boys", true), ("girl", "girls", true), ("man", "men", true),
        ("woman", "women", true), ("king", "kings", true), ("senator", "senators", true), ("lawyer", "lawyers", true),
        ("painter", "painters", true), ("neighbor", "neighbors", true),
        ("key", "keys", false), ("cabinet", "cabinets", false), ("box", "boxes", false), ("table", "tables", false),
        ("house", "houses", false), ("car", "cars", false), ("book", "books", false), ("letter", "letters", false),
        ("picture", "pictures", false), ("window", "windows", false), ("door", "doors", false), ("garden", "gardens", false),
        ("tree", "trees", false), ("bridge", "bridges", false), ("river", "rivers", false), ("city", "cities", false),
        ("office", "offices", false), ("lamp", "lamps", false),
    ];

    private static readonly (string Singular, string Plural)[] AnimateIntransitive =
    [
        ("sleeps", "sleep"), ("runs", "run"), ("smiles", "smile"), ("laughs", "laugh"), ("swims", "swim"),
        ("waits", "wait"), ("sings", "sing"), ("arrives", "arrive"), ("dances", "dance"), ("cries", "cry"),
    ];

    private static readonly (string Singular, string Plural)[] InanimateIntransitive =
    [
        ("falls", "fall"), ("breaks", "break"), ("shines", "shine"), ("rattles", "rattle"), ("collapses", "collapse"),
    ];

    // Animate subject, any object.
    private static readonly (string Singular, string Plural)[] Transitive =
    [
        ("likes", "like"), ("sees", "see"), ("knows", "know"), ("admires", "admire"), ("finds", "find"),
        ("follows", "follow"), ("remembers", "remember"), ("watches", "watch"), ("carries", "carry"), ("hates", "hate"),
        ("writes", "write"), ("paints", "paint"),
    ];

    private static readonly (string Singular, string Plural) Copula = ("is", "are");

    private static readonly string[] AnimateAdjectives = ["happy", "tired", "tall", "hungry", "young", "angry"];
    private static readonly string[] InanimateAdjectives = ["rusty", "broken", "heavy", "empty", "red", "clean"];
    private static readonly string[] SharedAdjectives = ["old", "small", "large", "new", "famous", "quiet"];

    private static readonly string[] SingularDeterminers = ["a", "an", "this", "every"];
    private static readonly string[] PluralDeterminers = ["some", "these", "many"];
    private const string The = "the";

    private static readonly string[] Prepositions = ["near", "behind", "beside", "under", "above", "with", "by", "from", "without"];

    private const string Who = "who";
    private const string That = "that";
    private const string Period = ".";

    private readonly Dictionary<string, (PartOfSpeech Tag, GrammaticalNumber? Number)> _lexicon = new(StringComparer.Ordinal);
    private readonly List<string> _words = [];

    public AgreementGrammar()
    {
        AddWord(The, PartOfSpeech.Determiner, null);
        AddAll(SingularDeterminers, PartOfSpeech.Determiner);
        AddAll(PluralDeterminers, PartOfSpeech.Determiner);
        foreach (var (singular, plural, _) in Nouns)
        {
            AddWord(singular, PartOfSpeech.Noun, GrammaticalNumber.Singular);
            AddWord(plural, PartOfSpeech.Noun, GrammaticalNumber.Plural);
        }

        foreach (var (singular, plural) in AnimateIntransitive.Concat(InanimateIntransitive).Concat(Transitive).Append(Copula))
        {
            AddWord(singular, PartOfSpeech.Verb, GrammaticalNumber.Singular);
            AddWord(plural, PartOfSpeech.Verb, GrammaticalNumber.Plural);
        }

        AddAll(AnimateAdjectives, PartOfSpeech.Adjective);
        AddAll(InanimateAdjectives, PartOfSpeech.Adjective);
        AddAll(SharedAdjectives, PartOfSpeech.Adjective);
        AddAll(Prepositions, PartOfSpeech.Preposition);
        AddWord(Who, PartOfSpeech.Relative, null);
        AddWord(That, PartOfSpeech.Relative, null);
        AddWord(Period, PartOfSpeech.Punctuation, null);
    }

    /// <summary>Every word the grammar can produce, each once, in a fixed order.</summary>
    public IReadOnlyList<string> Words => _words;

    /// <summary>The tag of a word of the grammar, and for nouns and verbs its number.</summary>
    public bool TryGetWord(string word, out PartOfSpeech tag, out GrammaticalNumber? number)
    {
        ArgumentNullException.ThrowIfNull(word);
        var found = _lexicon.TryGetValue(word, out var entry);
        (tag, number) = entry;
        return found;
    }

    public GeneratedSentence Generate(SeededRandom rng)
    {
        ArgumentNullException.ThrowIfNull(rng);
        var builder = new SentenceBuilder();
        var subjectNumber = CoinNumber(rng);
        var subject = Nouns[rng.NextInt(Nouns.Length)];
        var subjectIndex = AddNounPhrase(builder, rng, subject, subjectNumber);

        switch (rng.NextDouble())
        {
            case < 0.2:
                // Bare subjects keep short, attractor-free sentences in the mix.
                break;
            case < 0.55:
                AddPrepositionalPhrase(builder, rng, depth: 0);
                break;
            case < 0.8:
                AddSubjectRelative(builder, rng, subject.Animate, subjectNumber);
                break;
            default:
                AddObjectRelative(builder, rng, subject.Animate);
                break;
        }

        var attractors = builder.CountNounsOfNumber(subjectIndex + 1, Opposite(subjectNumber));
        var verbIndex = AddPredicate(builder, rng, subject.Animate, subjectNumber);
        builder.Add(Period, PartOfSpeech.Punctuation);
        return new GeneratedSentence(builder.Words, builder.Tags, subjectIndex, subjectNumber, verbIndex, subjectNumber, attractors);
    }

    private static int AddNounPhrase(SentenceBuilder builder, SeededRandom rng, (string Singular, string Plural, bool Animate) noun, GrammaticalNumber number)
    {
        var adjective = rng.NextDouble() < 0.15 ? PickAdjective(rng, noun.Animate) : null;
        var head = number == GrammaticalNumber.Singular ? noun.Singular : noun.Plural;
        builder.Add(PickDeterminer(rng, number, adjective ?? head), PartOfSpeech.Determiner);
        if (adjective is not null)
        {
            builder.Add(adjective, PartOfSpeech.Adjective);
        }

        return builder.Add(head, PartOfSpeech.Noun, number);
    }

    private static void AddPrepositionalPhrase(SentenceBuilder builder, SeededRandom rng, int depth)
    {
        builder.Add(Prepositions[rng.NextInt(Prepositions.Length)], PartOfSpeech.Preposition);
        AddNounPhrase(builder, rng, Nouns[rng.NextInt(Nouns.Length)], CoinNumber(rng));
        if (depth == 0 && rng.NextDouble() < 0.2)
        {
            AddPrepositionalPhrase(builder, rng, depth + 1);
        }
    }

    // "the author who writes books": the clause's verb agrees with the head, its object may attract.
    private static void AddSubjectRelative(SentenceBuilder builder, SeededRandom rng, bool headAnimate, GrammaticalNumber headNumber)
    {
        if (headAnimate)
        {
            builder.Add(rng.NextInt(2) == 0 ? Who : That, PartOfSpeech.Relative);
            builder.Add(Inflect(Transitive[rng.NextInt(Transitive.Length)], headNumber), PartOfSpeech.Verb, headNumber);
            AddNounPhrase(builder, rng, Nouns[rng.NextInt(Nouns.Length)], CoinNumber(rng));
        }
        else
        {
            builder.Add(That, PartOfSpeech.Relative);
            builder.Add(Inflect(Copula, headNumber), PartOfSpeech.Verb, headNumber);
            builder.Add(PickAdjective(rng, animate: false), PartOfSpeech.Adjective);
        }
    }

    // "the dog that the children like": the clause's subject is an attractor when its number differs.
    private static void AddObjectRelative(SentenceBuilder builder, SeededRandom rng, bool headAnimate)
    {
        builder.Add(headAnimate && rng.NextInt(2) == 0 ? Who : That, PartOfSpeech.Relative);
        var number = CoinNumber(rng);
        AddNounPhrase(builder, rng, PickAnimateNoun(rng), number);
        builder.Add(Inflect(Transitive[rng.NextInt(Transitive.Length)], number), PartOfSpeech.Verb, number);
    }

    private static int AddPredicate(SentenceBuilder builder, SeededRandom rng, bool animate, GrammaticalNumber number)
    {
        var choice = rng.NextDouble();
        if (animate && choice < 0.35)
        {
            return builder.Add(Inflect(AnimateIntransitive[rng.NextInt(AnimateIntransitive.Length)], number), PartOfSpeech.Verb, number);
        }

        if (animate && choice < 0.7)
        {
            var verbIndex = builder.Add(Inflect(Transitive[rng.NextInt(Transitive.Length)], number), PartOfSpeech.Verb, number);
            AddNounPhrase(builder, rng, Nouns[rng.NextInt(Nouns.Length)], CoinNumber(rng));
            return verbIndex;
        }

        if (!animate && choice < 0.4)
        {
            return builder.Add(Inflect(InanimateIntransitive[rng.NextInt(InanimateIntransitive.Length)], number), PartOfSpeech.Verb, number);
        }

        var copulaIndex = builder.Add(Inflect(Copula, number), PartOfSpeech.Verb, number);
        builder.Add(PickAdjective(rng, animate), PartOfSpeech.Adjective);
        return copulaIndex;
    }

    private static (string Singular, string Plural, bool Animate) PickAnimateNoun(SeededRandom rng)
    {
        while (true)
        {
            var noun = Nouns[rng.NextInt(Nouns.Length)];
            if (noun.Animate)
            {
                return noun;
            }
        }
    }

    private static string PickAdjective(SeededRandom rng, bool animate)
    {
        var specific = animate ? AnimateAdjectives : InanimateAdjectives;
        var index = rng.NextInt(specific.Length + SharedAdjectives.Length);
        return index < specific.Length ? specific[index] : SharedAdjectives[index - specific.Length];
    }

    private static string PickDeterminer(SeededRandom rng, GrammaticalNumber number, string nextWord)
    {
        if (rng.NextDouble() < 0.6)
        {
            return The;
        }

        if (number == GrammaticalNumber.Plural)
        {
            return PluralDeterminers[rng.NextInt(PluralDeterminers.Length)];
        }

        // "a" and "an" are one choice whose form depends on the next word.
        var index = rng.NextInt(SingularDeterminers.Length - 1);
        return index switch
        {
            0 => "aeiou".Contains(nextWord[0], StringComparison.Ordinal) ? "an" : "a",
            _ => SingularDeterminers[index + 1],
        };
    }

    private static GrammaticalNumber CoinNumber(SeededRandom rng) =>
        rng.NextInt(2) == 0 ? GrammaticalNumber.Singular : GrammaticalNumber.Plural;

    private static GrammaticalNumber Opposite(GrammaticalNumber number) =>
        number == GrammaticalNumber.Singular ? GrammaticalNumber.Plural : GrammaticalNumber.Singular;

    private static string Inflect((string Singular, string Plural) verb, GrammaticalNumber number) =>
        number == GrammaticalNumber.Singular ? verb.Singular : verb.Plural;

    private void AddAll(string[] words, PartOfSpeech tag)
    {
        foreach (var word in words)
        {
            AddWord(word, tag, null);
        }
    }

    private void AddWord(string word, PartOfSpeech tag, GrammaticalNumber? number)
    {
        // A word in two categories would make the tags ambiguous; the lists are built to avoid it.
        if (!_lexicon.TryAdd(word, (tag, number)))
        {
            throw new InvalidOperationException($"The agreement grammar lists '{word}' twice.");
        }

        _words.Add(word);
    }

    private sealed class SentenceBuilder
    {
        private readonly List<GrammaticalNumber?> _numbers = [];

        public List<string> Words { get; } = [];

        public List<PartOfSpeech> Tags { get; } = [];

        public int Add(string word, PartOfSpeech tag, GrammaticalNumber? number = null)
        {
            Words.Add(word);
            Tags.Add(tag);
            _numbers.Add(number);
            return Words.Count - 1;
        }

        public int CountNounsOfNumber(int from, GrammaticalNumber number)
        {
            var count = 0;
            for (var i = from; i < Words.Count; i++)
            {
                if (Tags[i] == PartOfSpeech.Noun && _numbers[i] == number)
                {
                    count++;
                }
            }

            return count;
        }
    }
}
