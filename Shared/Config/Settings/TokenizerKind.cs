namespace RnnCluster.Config;

/// <summary>How text is split into tokens: <c>word</c> (whitespace-separated, with end-of-line tokens) or <c>char</c>.</summary>
public enum TokenizerKind
{
    Word = 0,
    Char = 1,
}
