using Microsoft.Extensions.Logging.Abstractions;
using RnnCluster.Config;
using RnnCluster.Data;
using RnnCluster.Tests.Support;
using RnnCluster.Training;
using RnnCluster.Training.Parallel;

namespace RnnCluster.Tests.Parallel;

/// <summary>A small language-model training loop (the <see cref="ParallelRuns"/> settings) for actor specs, with its run directory.</summary>
internal sealed class SpecLoop : IDisposable
{
    private readonly TempDirectory _dir = new();

    public SpecLoop(params string[] extra)
    {
        Settings = ParallelRuns.Settings(2, extra);
        Corpus = CorpusLoader.Load(Settings.Data.Path, TrainingSetup.Corpus(Settings.Data));
        // Its own directory: the coordinator under test writes RunDirectory, and a run directory has one writer.
        Loop = new TrainingLoop(Settings, Corpus, _dir.Combine("spec-loop"), new TrainerServices(TimeProvider.System, NullLoggerFactory.Instance));
    }

    public RnnClusterSettings Settings { get; }

    public Corpus Corpus { get; }

    public ITrainingLoop Loop { get; }

    public string RunDirectory => _dir.Combine("run");

    public TrainingLoop CreateLoop(string? resume) =>
        new(Settings, Corpus, RunDirectory, new TrainerServices(TimeProvider.System, NullLoggerFactory.Instance), resume);

    /// <summary>Worker <paramref name="index"/>'s options for this loop's model.</summary>
    public WorkerOptions Worker(int index, WorkerFaults? faults = null) => new(index, Loop.MasterOptions, faults, TimeProvider.System);

    /// <summary>The first window, as the command one worker gets when it is the whole plan.</summary>
    public async Task<ComputeWindow> FirstCommandAsync(int worker = 0)
    {
        Loop.Start();
        var step = await Loop.NextStepAsync(CancellationToken.None) ?? throw new InvalidOperationException("no first step");
        var protocol = new StepProtocol(Loop.StreamCount);
        protocol.Join(worker);
        protocol.TakeJoiners();
        return (ComputeWindow)protocol.Open(step, Loop.Master.ParameterArray!).Single().Command;
    }

    public void Dispose()
    {
        Loop.Dispose();
        _dir.Dispose();
    }
}
