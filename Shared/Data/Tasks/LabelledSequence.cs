namespace RnnCluster.Data.Tasks;

/// <summary>An acceptor example: a text and the one label of the whole sequence.</summary>
public sealed record LabelledSequence(string Label, string Text, SourcePosition Position);
