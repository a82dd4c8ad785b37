namespace RnnCluster.Data.Tasks;

/// <summary>The examples read from one file, and how many invalid UTF-8 bytes were replaced on the way.</summary>
public sealed record TaskFile<T>(string Path, IReadOnlyList<T> Examples, long ReplacedBytes);
