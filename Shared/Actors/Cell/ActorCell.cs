using Microsoft.Extensions.Logging;
using RnnCluster.Actors.Dispatch;
using RnnCluster.Actors.Refs;
using RnnCluster.Actors.Scheduling;

namespace RnnCluster.Actors.Cell;

/// <summary>
/// The runtime side of one actor: its mailbox, its current incarnation, children, watches, timers
/// and failure state. Split by concern like Akka's ActorCell.*.cs: dispatch, children, death
/// watch, fault handling, async handlers.
/// </summary>
/// <remarks>
/// Threading: everything not marked otherwise is touched only on the actor's turn (see
/// <see cref="Mailbox"/>), so it needs no lock. The children table is the exception — other threads
/// create top-level actors and look up paths — and has its own lock.
/// </remarks>
internal sealed partial class ActorCell : IActorContext
{
    [ThreadStatic]
    private static ActorCell? t_current;

    private readonly Props _props;
    private readonly IInternalActorRef _parent;
    private ActorBase? _actor;
    private Envelope _current;
    private TimerScheduler? _timers;
    private SupervisorStrategy? _strategy;

    public ActorCell(ActorSystem system, Props props, ActorPath path, IInternalActorRef parent)
    {
        System = system;
        _props = props;
        _parent = parent;
        SelfRef = new LocalActorRef(this, path);
        Mailbox = new Mailbox(props.Mailbox, system.Options.Throughput) { Cell = this };
    }

    /// <summary>The cell whose turn runs on this thread; also the cell under construction.</summary>
    public static ActorCell? Current
    {
        get => t_current;
        set => t_current = value;
    }

    public ActorSystem System { get; }

    public LocalActorRef SelfRef { get; }

    public Mailbox Mailbox { get; }

    public ILogger Log => System.Log;

    public IActorRef Self => SelfRef;

    public IActorRef Sender => _current.Sender ?? System.DeadLetters;

    public IActorRef? CurrentSenderOrNull => _current.Sender;

    public IActorRef Parent => _parent;

    public Props Props => _props;

    public ITimerScheduler Timers => _timers ??= new TimerScheduler(this);

    public void Start() => Mailbox.PostSystem(Create.Instance);

    public void PublishUnhandled(object message)
    {
        ActorsLog.UnhandledMessage(Log, message.GetType().Name, SelfRef.Path);
        System.EventStream.Publish(new UnhandledMessage(message, _current.Sender, SelfRef));
    }

    /// <summary>Props first, then the actor's own override — cached per incarnation.</summary>
    private SupervisorStrategy Strategy
    {
        get
        {
            if (_strategy is not null)
            {
                return _strategy;
            }

            if (_props.SupervisorStrategy is { } fromProps)
            {
                return _strategy = fromProps;
            }

            if (_actor is null)
            {
                // Between incarnations: decide with the default, do not cache.
                return SupervisorStrategy.Default;
            }

            try
            {
                return _strategy = _actor.SupervisorStrategy();
            }
            catch (Exception exception)
            {
                ActorsLog.LifecycleHookFailed(Log, "SupervisorStrategy", SelfRef.Path, exception);
                return _strategy = SupervisorStrategy.Default;
            }
        }
    }

    /// <summary>Runs the Props factory; the actor's constructor finds this cell through <see cref="Current"/>.</summary>
    private ActorBase NewActor()
    {
        var previous = t_current;
        t_current = this;
        try
        {
            var actor = _props.Factory() ?? throw new InvalidOperationException($"The Props factory for {SelfRef.Path} returned null.");
            if (!ReferenceEquals(actor.Cell, this))
            {
                throw new InvalidOperationException($"The Props factory for {SelfRef.Path} must create a new instance on every call.");
            }

            _strategy = null;
            _asyncCancellation = new CancellationTokenSource();
            return actor;
        }
        finally
        {
            t_current = previous;
        }
    }

    private void UpdateSuspension() =>
        Mailbox.UserSuspended = _actor is null || _failed || _suspendedByParent || _terminating
            || _recreateCause is not null || _asyncTask is not null;
}
