using Akka.Actor;

namespace RnnCluster.Parallel;

/// <summary>
/// Parent of the coordinator and the bridge to the caller: completes the run's task with the
/// coordinator's outcome, restarts a failing coordinator (it resumes from the newest committed
/// checkpoint) up to 3 times a minute, and turns a coordinator that stopped without an outcome into
/// an abort that says so.
/// </summary>
public sealed class RunSupervisor : ReceiveActor
{
    public const int MaxCoordinatorRestarts = 3;

    public RunSupervisor(CoordinatorOptions options, TaskCompletionSource<object> outcome)
    {
        ArgumentNullException.ThrowIfNull(outcome);
        var coordinator = Context.ActorOf(Props.Create(() => new CoordinatorActor(options)).WithDispatcher(ParallelSystem.CoordinatorDispatcher), "coordinator");
        Context.Watch(coordinator);
        Receive<TrainingFinished>(f => outcome.TrySetResult(f));
        Receive<TrainingAborted>(a => outcome.TrySetResult(a));
        Receive<Terminated>(_ => outcome.TrySetResult(new TrainingAborted($"the coordinator stopped without finishing the run (it failed more than {MaxCoordinatorRestarts} times within a minute); see the log above")));
    }

    protected override SupervisorStrategy SupervisorStrategy() =>
        new OneForOneStrategy(MaxCoordinatorRestarts, TimeSpan.FromMinutes(1), _ => Directive.Restart);
}
