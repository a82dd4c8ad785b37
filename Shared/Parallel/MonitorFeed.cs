using RnnCluster.Monitoring;
using RnnCluster.Training;
using RnnCluster.Training.Parallel;

namespace RnnCluster.Parallel;

/// <summary>
/// What a <see cref="CoordinatorActor"/> tells the <see cref="RunMonitor"/>: the workers' part in each
/// generation, failures, and the step-time split with each worker's step time, averaged over about a second
/// of steps (a fast run would otherwise publish a split per step). Lives on the coordinator's thread.
/// </summary>
internal sealed class MonitorFeed
{
    private static readonly TimeSpan Interval = TimeSpan.FromSeconds(1);

    private readonly RunMonitor _monitor;
    private readonly TimeProvider _time;
    private readonly bool _localWorkers;
    private readonly Dictionary<int, (double Seconds, int Steps)> _workerTimes = [];
    private long _lastReport;
    private (long Steps, double Compute, double Communication, double Apply) _reported;

    public MonitorFeed(RunMonitor monitor, TimeProvider time, bool localWorkers)
    {
        _monitor = monitor;
        _time = time;
        _localWorkers = localWorkers;
        _lastReport = time.GetTimestamp();
    }

    /// <summary>In-process workers have no address of their own: they are named for their index.</summary>
    public void LocalWorker(int index, long incarnation) =>
        _monitor.MemberChanged(index, MemberStates.Worker, $"local/worker-{index}", MemberStates.Joining, incarnation);

    public void Joining(int index) =>
        _monitor.MemberChanged(index, MemberStates.Worker, address: _localWorkers ? $"local/worker-{index}" : null, state: MemberStates.Joining);

    /// <summary>A new generation: the workers in its plan are up with their share of the streams.</summary>
    public void Generation(int generation, string reason, IReadOnlyList<Shard> plan, int streams)
    {
        foreach (var shard in plan)
        {
            _monitor.MemberChanged(shard.WorkerIndex, MemberStates.Worker, state: MemberStates.Up, streamShare: (double)shard.StreamCount / Math.Max(1, streams));
        }

        _monitor.GenerationStarted(generation, reason);
    }

    /// <summary>A worker's supervisor restarted it (a new incarnation of the same member).</summary>
    public void Restarted(int index, long step, string reason)
    {
        var incarnation = (_monitor.FindMember(index, MemberStates.Worker)?.Incarnation ?? 1) + 1;
        _monitor.MemberChanged(index, MemberStates.Worker, incarnation: incarnation);
        _monitor.Failure($"worker {index} failed at step {step} and was restarted: {reason}");
    }

    /// <summary>A worker is gone for good; its streams move to the others.</summary>
    public void Lost(int index, int remaining)
    {
        _monitor.MemberChanged(index, MemberStates.Worker, state: MemberStates.Lost);
        _monitor.Failure($"worker {index} stopped; {remaining} remain");
    }

    public void Failure(string text) => _monitor.Failure(text);

    /// <summary>Each reply of a closed step: its worker's compute and copy time.</summary>
    public void Replies(IReadOnlyCollection<WindowGradients> replies)
    {
        foreach (var reply in replies)
        {
            var (seconds, steps) = _workerTimes.GetValueOrDefault(reply.WorkerIndex);
            _workerTimes[reply.WorkerIndex] = (seconds + reply.ComputeSeconds + reply.CopySeconds, steps + 1);
        }
    }

    /// <summary>After a step: publishes the split of the steps since the last report once the interval passed.</summary>
    public void StepDone(StepTimeSplit totals)
    {
        if (_time.GetElapsedTime(_lastReport) < Interval)
        {
            return;
        }

        _lastReport = _time.GetTimestamp();
        // Broadcast and gradient transfer are the step's communication; averaging into the master belongs to applying it.
        var now = (totals.Steps, totals.ComputeSeconds, totals.BroadcastSeconds + totals.TransferSeconds, totals.AveragingSeconds + totals.ApplySeconds);
        var steps = now.Steps - _reported.Steps;
        if (steps <= 0)
        {
            return;
        }

        double Ms(double seconds) => 1000 * seconds / steps;
        var split = new StepSplit(Ms(now.Item2 - _reported.Compute), Ms(now.Item3 - _reported.Communication), Ms(now.Item4 - _reported.Apply));
        _reported = now;
        var workers = _workerTimes.Where(w => w.Value.Steps > 0).ToDictionary(w => w.Key, w => 1000 * w.Value.Seconds / w.Value.Steps);
        _workerTimes.Clear();
        _monitor.StepTimes(split, workers);
    }
}
