using Microsoft.Extensions.Logging.Abstractions;
using RnnCluster.Config;
using RnnCluster.Data;
using RnnCluster.Tests.Support;
using RnnCluster.Training;
using RnnCluster.Training.Parallel;

namespace RnnCluster.Tests.Parallel;

/// <summary>
/// A one-worker run of the small test LM at its first step: the training loop, an all-reduce-capable
/// replica on the given clock, and the step's window command (carrying the parameters), for tests that
/// drive <see cref="WorkerReplica.Compute(ComputeWindow)"/> with a group of their own.
/// </summary>
internal sealed class FirstWindow : IDisposable
{
    private readonly TempDirectory _dir;
    private readonly TrainingLoop _run;

    private FirstWindow(TempDirectory dir, TrainingLoop run, WorkerReplica replica, ComputeWindow window)
    {
        _dir = dir;
        _run = run;
        Replica = replica;
        Window = window;
    }

    public ITrainingLoop Loop => _run;

    public WorkerReplica Replica { get; }

    public ComputeWindow Window { get; }

    /// <param name="extra">Settings on top of <see cref="ParallelRuns.Settings"/>'s, <c>key=value</c>.</param>
    public static async Task<FirstWindow> StartAsync(TimeProvider clock, params string[] extra)
    {
        var dir = new TempDirectory();
        var settings = ParallelRuns.Settings(1, extra);
        var corpus = CorpusLoader.Load(settings.Data.Path, TrainingSetup.Corpus(settings.Data));
        var run = new TrainingLoop(settings, corpus, dir.Combine("run"), new TrainerServices(TimeProvider.System, NullLoggerFactory.Instance));
        var replica = ReplicaFor(run, settings, clock);
        var window = await FirstCommandAsync<ComputeWindow>(run);
        return new FirstWindow(dir, run, replica, window);
    }

    /// <summary>Worker 0's replica for <paramref name="loop"/>'s run, able to all-reduce (it steps itself), on <paramref name="clock"/>.</summary>
    public static WorkerReplica ReplicaFor(ITrainingLoop loop, RnnClusterSettings settings, TimeProvider clock) =>
        new(new WorkerOptions(0, loop.MasterOptions, null, clock)
        {
            Optimizer = TrainingSetup.Optimizer(settings.Training),
            ClipNorm = settings.Training.ClipNorm,
        });

    /// <summary>Starts <paramref name="loop"/> and opens its first step for a plan of worker 0 alone: that worker's command, carrying the parameters.</summary>
    public static async Task<T> FirstCommandAsync<T>(ITrainingLoop loop)
        where T : class
    {
        loop.Start();
        var step = await loop.NextStepAsync(CancellationToken.None) ?? throw new InvalidOperationException("the run ended");
        var protocol = new StepProtocol(loop.StreamCount);
        protocol.Join(0);
        protocol.TakeJoiners();
        return (T)protocol.Open(step, loop.Master.ParameterSpan.ToArray()).Single().Command;
    }

    /// <summary>The window as an all-reduce step of a group of one (the replica seeds itself from the command's parameters).</summary>
    public ComputeWindow In(IGradientExchange group) => Window with { Exchange = new ExchangeCommand(0, ["this node"], null, -1, [], 0), Group = group };

    public void Dispose()
    {
        Replica.Dispose();
        _run.Dispose();
        _dir.Dispose();
    }
}
