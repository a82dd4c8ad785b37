namespace RnnCluster.Data;

/// <summary>The coarse tags of <see cref="AgreementGrammar"/>'s words.</summary>
public enum PartOfSpeech
{
    Determiner,
    Noun,
    Verb,
    Adjective,
    Preposition,
    Relative,
    Punctuation,
}

public static class PartOfSpeechExtensions
{
    /// <summary>The tag as written in tagging data: DET, NOUN, VERB, ADJ, PREP, REL, PUNCT.</summary>
    public static string ToTag(this PartOfSpeech tag) => tag switch
    {
        PartOfSpeech.Determiner => "DET",
        PartOfSpeech.Noun => "NOUN",
        PartOfSpeech.Verb => "VERB",
        PartOfSpeech.Adjective => "ADJ",
        PartOfSpeech.Preposition => "PREP",
        PartOfSpeech.Relative => "REL",
        PartOfSpeech.Punctuation => "PUNCT",
        _ => throw new ArgumentOutOfRangeException(nameof(tag), tag, "Unknown part of speech."),
    };
}
