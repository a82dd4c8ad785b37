using System.Globalization;

namespace RnnCluster.Model.Checkpoints;

/// <summary>The points of a commit where a crash leaves something different behind; named so a test can stop a writer at each.</summary>
public enum CheckpointPhase
{
    /// <summary>The temporary directory exists; no file byte is written yet.</summary>
    Started,

    /// <summary>Part of <c>model.safetensors</c> is on disk: its header and first tensor, not the rest.</summary>
    MidTensor,

    /// <summary>The directory has its <c>step-NNNNNNNNN</c> name but no <c>COMMITTED</c> marker yet.</summary>
    Renamed,

    /// <summary>The marker is durable; the best pointer and retention have not run.</summary>
    Committed,

    /// <summary>Retention has un-committed an old checkpoint and deleted one of its files, not the rest.</summary>
    Pruning,
}

/// <summary>
/// Test-only: the commit that reaches <see cref="Phase"/> (at <see cref="Step"/>, or the first that reaches it)
/// logs "checkpoint phase X reached" and blocks for good, so a test can SIGKILL the writer exactly there.
/// Parsed from <c>RNNCLUSTER_CHECKPOINT_HOLD=phase[@step]</c>, read only when <c>cluster.test-faults</c> is on.
/// </summary>
public sealed record CheckpointPhaseHold(CheckpointPhase Phase, long? Step)
{
    public const string Variable = "RNNCLUSTER_CHECKPOINT_HOLD";

    public static string Name(CheckpointPhase phase) => phase switch
    {
        CheckpointPhase.Started => "started",
        CheckpointPhase.MidTensor => "mid-tensor",
        CheckpointPhase.Renamed => "renamed",
        CheckpointPhase.Committed => "committed",
        CheckpointPhase.Pruning => "pruning",
        _ => throw new ArgumentOutOfRangeException(nameof(phase), phase, null),
    };

    /// <exception cref="FormatException">Not <c>phase[@step]</c> with a known phase.</exception>
    public static CheckpointPhaseHold Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var at = text.IndexOf('@', StringComparison.Ordinal);
        var name = (at < 0 ? text : text[..at]).Trim();
        var phase = Enum.GetValues<CheckpointPhase>().Where(p => Name(p) == name).Select(p => (CheckpointPhase?)p).FirstOrDefault()
            ?? throw new FormatException($"'{name}' is not a checkpoint phase (one of {string.Join(", ", Enum.GetValues<CheckpointPhase>().Select(Name))})");
        if (at < 0)
        {
            return new CheckpointPhaseHold(phase, null);
        }

        return long.TryParse(text.AsSpan(at + 1).Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var step)
            ? new CheckpointPhaseHold(phase, step)
            : throw new FormatException($"'{text[(at + 1)..]}' is not a step number (phase@step)");
    }

    public bool Matches(CheckpointPhase phase, long step) => phase == Phase && (Step is null || Step == step);
}
