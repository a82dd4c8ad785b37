using RnnCluster.Data.Tasks;

namespace RnnCluster.Data.Fetch;

/// <summary>What a converter wrote: one file per split with its example count, and what it left out and why.</summary>
public sealed record DatasetConversion(
    TaskKind Kind,
    TextTokenizer SourceTokenizer,
    TextTokenizer? TargetTokenizer,
    IReadOnlyList<ConvertedFile> Files,
    IReadOnlyDictionary<string, long> Skipped);

/// <summary>One written split file (a name inside the output directory).</summary>
public sealed record ConvertedFile(DataSplit Split, string FileName, int Examples);
