namespace RnnCluster.Data;

/// <summary>What a corpus's targets mean.</summary>
public enum CorpusTask
{
    /// <summary>The target at each position is the next token.</summary>
    LanguageModel,

    /// <summary>The target at each position is a label of that position (e.g. parity so far), not the next token.</summary>
    Tagging,
}
