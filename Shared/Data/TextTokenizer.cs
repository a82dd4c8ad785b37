namespace RnnCluster.Data;

/// <summary>How text becomes tokens: whitespace-separated words or Unicode scalars (runes).</summary>
public enum TextTokenizer
{
    Word,
    Char,
}
