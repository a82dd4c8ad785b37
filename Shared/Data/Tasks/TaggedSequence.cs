namespace RnnCluster.Data.Tasks;

/// <summary>A transducer example: tokens and one tag per token.</summary>
public sealed record TaggedSequence
{
    public TaggedSequence(IReadOnlyList<string> tokens, IReadOnlyList<string> tags, SourcePosition position)
    {
        ArgumentNullException.ThrowIfNull(tokens);
        ArgumentNullException.ThrowIfNull(tags);
        if (tokens.Count != tags.Count)
        {
            throw new DataException($"{position}: {tokens.Count} tokens but {tags.Count} tags");
        }

        if (tokens.Count == 0)
        {
            throw new DataException($"{position}: a sentence needs at least one token");
        }

        Tokens = tokens;
        Tags = tags;
        Position = position;
    }

    public IReadOnlyList<string> Tokens { get; }

    public IReadOnlyList<string> Tags { get; }

    /// <summary>The line of the sentence's first token.</summary>
    public SourcePosition Position { get; }
}
