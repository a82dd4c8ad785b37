namespace RnnCluster.Data.Tasks;

/// <summary>An encoder–decoder example: a source text and the target text it should produce.</summary>
public sealed record SequencePair(string Source, string Target, SourcePosition Position);
