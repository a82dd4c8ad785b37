using System.IO.Hashing;
using System.Runtime.InteropServices;
using System.Text.Json;
using RnnCluster.Model.Checkpoints;

namespace RnnCluster.Training.Parallel;

/// <summary>
/// The coordinator's run after <see cref="Step"/> steps, less its parameters (the step command carries
/// those anyway): what a checkpoint would hold — trainer state (counters, cursor, schedule, random
/// generators, stream states) and optimizer state. A cluster coordinator attaches it to every step
/// command, so each worker holds the whole run in memory and a coordinator that takes over after a
/// crash rebuilds from the workers instead of rolling back to the last checkpoint. <see cref="Checksum"/>
/// covers the parameters too: workers that report equal steps and checksums hold identical runs.
/// </summary>
public sealed record RunSnapshot(long Step, long Fence, byte[] TrainerState, float[] OptimizerState, long OptimizerSteps, ulong Checksum)
{
    /// <summary>Snapshots the run whose parameters are <paramref name="parameters"/>, with its checksum.</summary>
    public static RunSnapshot Create(long fence, TrainerState state, float[] optimizerState, long optimizerSteps, ReadOnlySpan<float> parameters)
    {
        ArgumentNullException.ThrowIfNull(state);
        ArgumentNullException.ThrowIfNull(optimizerState);
        var json = JsonSerializer.SerializeToUtf8Bytes(state, CheckpointJsonContext.Default.TrainerState);
        return new RunSnapshot(state.Step, fence, json, optimizerState, optimizerSteps, Hash(state.Step, fence, json, optimizerState, optimizerSteps, parameters));
    }

    /// <summary>
    /// This snapshot of the trainer (as a coordinator whose workers hold the parameters and optimizer state
    /// sends it: <see cref="OptimizerState"/> empty) completed with a replica's optimizer state and
    /// checksummed with its parameters: what a worker reports and hands to a coordinator taking over.
    /// </summary>
    public RunSnapshot WithReplica(float[] optimizerState, long optimizerSteps, ReadOnlySpan<float> parameters)
    {
        ArgumentNullException.ThrowIfNull(optimizerState);
        return this with { OptimizerState = optimizerState, OptimizerSteps = optimizerSteps, Checksum = Hash(Step, Fence, TrainerState, optimizerState, optimizerSteps, parameters) };
    }

    /// <summary>Whether <paramref name="parameters"/> and this snapshot are what the coordinator checksummed.</summary>
    public bool Matches(ReadOnlySpan<float> parameters) =>
        Hash(Step, Fence, TrainerState, OptimizerState, OptimizerSteps, parameters) == Checksum;

    /// <summary>The trainer state it carries.</summary>
    /// <exception cref="CheckpointException">The bytes are not a trainer state.</exception>
    public TrainerState ReadTrainerState(string source)
    {
        try
        {
            return JsonSerializer.Deserialize(TrainerState, CheckpointJsonContext.Default.TrainerState)
                ?? throw new CheckpointException($"{source}: empty trainer state");
        }
        catch (JsonException e)
        {
            throw new CheckpointException($"{source}: the trainer state does not parse: {e.Message}", e);
        }
    }

    private static ulong Hash(long step, long fence, byte[] state, float[] optimizer, long optimizerSteps, ReadOnlySpan<float> parameters)
    {
        var hash = new XxHash3();
        Span<long> header = [step, fence, optimizerSteps, parameters.Length, optimizer.Length];
        hash.Append(MemoryMarshal.AsBytes(header));
        hash.Append(state);
        hash.Append(MemoryMarshal.AsBytes(optimizer.AsSpan()));
        hash.Append(MemoryMarshal.AsBytes(parameters));
        return hash.GetCurrentHashAsUInt64();
    }
}
