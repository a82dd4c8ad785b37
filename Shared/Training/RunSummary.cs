using System.Text.Json;
using System.Text.Json.Serialization;

namespace RnnCluster.Training;

/// <summary>The figures of a finished (or interrupted) run, written as <c>summary.json</c>.</summary>
public sealed record RunSummary
{
    public required string Corpus { get; init; }

    public required string Task { get; init; }

    public required long Steps { get; init; }

    public required int Epochs { get; init; }

    public required long TokensTrained { get; init; }

    public required double TrainLoss { get; init; }

    public double? ValidLoss { get; init; }

    public double? ValidPerplexity { get; init; }

    /// <summary>Bits per token of the validation split; bits per character for a char-level corpus.</summary>
    public double? ValidBitsPerToken { get; init; }

    public double? ValidAccuracy { get; init; }

    public double? TestLoss { get; init; }

    public double? TestPerplexity { get; init; }

    public double? TestBitsPerToken { get; init; }

    public double? TestAccuracy { get; init; }

    /// <summary>Task runs: further validation figures (macroF1; exactMatch and editDistance), by name.</summary>
    public IReadOnlyDictionary<string, double>? ValidScores { get; init; }

    public IReadOnlyDictionary<string, double>? TestScores { get; init; }

    public required double TokensPerSecond { get; init; }

    public required double WallSeconds { get; init; }

    /// <summary>epochs, max-steps, early-stop or interrupted.</summary>
    public required string StoppedBy { get; init; }

    public string? LastCheckpoint { get; init; }

    public string? BestCheckpoint { get; init; }

    /// <summary>Checkpoints that could not be written this session (<c>checkpoint.on-failure = continue</c>); absent when none failed.</summary>
    public int? CheckpointFailures { get; init; }

    /// <summary>Data-parallel runs: mean milliseconds per step in each phase.</summary>
    public IReadOnlyDictionary<string, double>? StepTimeSplit { get; init; }

    internal static JsonSerializerOptions JsonOptions { get; } = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        WriteIndented = true,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    public string ToJson() => JsonSerializer.Serialize(this, JsonOptions);

    /// <summary>A summary.json as <see cref="ToJson"/> wrote it.</summary>
    /// <exception cref="JsonException">Not a summary.</exception>
    public static RunSummary FromJson(string json) =>
        JsonSerializer.Deserialize<RunSummary>(json, JsonOptions) ?? throw new JsonException("summary.json holds null");
}
