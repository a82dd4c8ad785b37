using Microsoft.Extensions.Logging.Abstractions;
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
        ITrainingLoop loop = run;
        var options = new WorkerOptions(0, loop.MasterOptions, null, clock)
        {
            Optimizer = TrainingSetup.Optimizer(settings.Training),
            ClipNorm = settings.Training.ClipNorm,
        };
        var replica = new WorkerReplica(options);
        loop.Start();
        var step = await loop.NextStepAsync(CancellationToken.None) ?? throw new InvalidOperationException("the run ended");
        var protocol = new StepProtocol(loop.StreamCount);
        protocol.Join(0);
        protocol.TakeJoiners();
        var window = (ComputeWindow)protocol.Open(step, loop.Master.ParameterSpan.ToArray()).Single().Command;
        return new FirstWindow(dir, run, replica, window);
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
