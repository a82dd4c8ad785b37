namespace RnnCluster.Data.Tasks;

/// <summary>Where an example came from, so a later error (an unknown label at evaluation) can name <c>file:line</c>.</summary>
public readonly record struct SourcePosition(string File, int Line)
{
    public override string ToString() => $"{File}:{Line}";
}
