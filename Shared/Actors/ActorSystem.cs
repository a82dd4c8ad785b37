using System.Globalization;
using Microsoft.Extensions.Logging;
using RnnCluster.Actors.Cell;
using RnnCluster.Actors.Dispatch;
using RnnCluster.Actors.Refs;

namespace RnnCluster.Actors;

/// <summary>
/// A hierarchy of actors: <c>/user</c> holds the application's actors (created with
/// <see cref="ActorOf"/>), <c>/system</c> holds infrastructure (test probes, cluster daemons).
/// <see cref="Terminate"/> stops <c>/user</c> then <c>/system</c>, each depth-first, and completes
/// <see cref="WhenTerminated"/>. A failure of a guardian itself — an escalation from a top-level
/// actor — is logged as critical and terminates the system with that exception as the cause.
/// </summary>
public sealed class ActorSystem
{
    private readonly TaskCompletionSource<ActorSystemTermination> _terminated = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly RootGuardian _root;
    private readonly ActorCell _userGuardian;
    private readonly ActorCell _systemGuardian;
    private readonly DeadLetterActorRef _deadLetters;
    private readonly Func<double> _random;
    private Exception? _terminationCause;
    private int _terminating;
    private long _tempNames;

    private ActorSystem(string name, ActorSystemOptions options)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(options.Throughput);
        ArgumentNullException.ThrowIfNull(options.LoggerFactory);
        ArgumentNullException.ThrowIfNull(options.TimeProvider);
        ArgumentNullException.ThrowIfNull(options.UserGuardianStrategy);
        Name = name;
        Options = options;
        Address = new ActorAddress(name, options.Host, options.Port);
        Log = options.LoggerFactory.CreateLogger("RnnCluster.Actors");
        Scheduler = new Scheduler(options.TimeProvider);
        _random = options.RandomSource ?? LockedRandom();

        var rootPath = ActorPath.Root(Address);
        _root = new RootGuardian(this, rootPath);
        _deadLetters = new DeadLetterActorRef(this, rootPath.Child("deadLetters"));
        _userGuardian = new ActorCell(
            this,
            Props.Create(() => new GuardianActor()).WithSupervisorStrategy(options.UserGuardianStrategy),
            rootPath.Child("user"),
            _root);
        _systemGuardian = new ActorCell(this, Props.Create(() => new GuardianActor()), rootPath.Child("system"), _root);
        _userGuardian.Start();
        _systemGuardian.Start();
        ActorsLog.SystemStarted(Log, name, Address);
    }

    public string Name { get; }

    public ActorAddress Address { get; }

    public ActorSystemOptions Options { get; }

    public TimeProvider TimeProvider => Options.TimeProvider;

    public EventStream EventStream { get; } = new();

    public Scheduler Scheduler { get; }

    /// <summary>Where undeliverable messages go; a message told to it is logged and published as a <see cref="DeadLetter"/>.</summary>
    public IActorRef DeadLetters => _deadLetters;

    /// <summary>Completes once every actor has stopped; never faults — a failure is in <see cref="ActorSystemTermination.Cause"/>.</summary>
    public Task<ActorSystemTermination> WhenTerminated => _terminated.Task;

    internal ILogger Log { get; }

    public static ActorSystem Create(string name, ActorSystemOptions? options = null)
    {
        ActorPath.ValidateSystemName(name);
        return new ActorSystem(name, options ?? new ActorSystemOptions());
    }

    /// <summary>Creates a top-level actor under <c>/user</c>.</summary>
    /// <exception cref="InvalidActorNameException">The name is taken or invalid.</exception>
    public IActorRef ActorOf(Props props, string? name = null) => _userGuardian.CreateChild(props, name);

    /// <summary>Creates an infrastructure actor under <c>/system</c> (test probes, cluster daemons).</summary>
    public IActorRef SystemActorOf(Props props, string? name = null) => _systemGuardian.CreateChild(props, name);

    /// <summary>Stops any actor of this system, after the message it is processing.</summary>
    public void Stop(IActorRef actor)
    {
        ArgumentNullException.ThrowIfNull(actor);
        if (actor is not IInternalActorRef target)
        {
            throw new ArgumentException($"{actor} was not created by an actor system.", nameof(actor));
        }

        target.SendSystemMessage(Dispatch.Terminate.Instance);
    }

    /// <summary>The actor now at <paramref name="path"/> (<c>/user/coordinator/worker-1</c> or a full <c>rnn://</c> path), or <c>null</c>.</summary>
    public IActorRef? Lookup(string path) => Lookup(ActorPath.Parse(path, Address));

    public IActorRef? Lookup(ActorPath path)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (!path.Address.Equals(Address))
        {
            return null; // remote addresses need remoting, which resolves them itself
        }

        var elements = path.Elements;
        if (elements.Count == 0)
        {
            return _root;
        }

        ActorCell? cell = elements[0] switch
        {
            "user" => _userGuardian,
            "system" => _systemGuardian,
            _ => null,
        };
        if (cell is null)
        {
            return elements is ["deadLetters"] ? _deadLetters : null;
        }

        for (var i = 1; i < elements.Count; i++)
        {
            var child = cell.TryGetChildRef(elements[i]);
            if (child is null)
            {
                return null;
            }

            cell = child.Cell;
        }

        return cell.SelfRef;
    }

    public ActorSelection ActorSelection(string path) => new(this, ActorPath.Parse(path, Address));

    /// <summary>Stops every actor (user actors first) and completes <see cref="WhenTerminated"/>.</summary>
    public Task<ActorSystemTermination> Terminate()
    {
        BeginTerminate(null);
        return WhenTerminated;
    }

    public override string ToString() => $"ActorSystem[{Address}]";

    internal double NextRandom()
    {
        var sample = _random();
        return sample is >= 0 and < 1
            ? sample
            : throw new InvalidOperationException($"ActorSystemOptions.RandomSource must return values in [0, 1); it returned {sample}.");
    }

    internal ActorPath NewTempPath(string prefix) =>
        ActorPath.Root(Address).Child("temp").Child(prefix + "-" + Interlocked.Increment(ref _tempNames).ToString(CultureInfo.InvariantCulture));

    internal void PublishDeadLetter(object message, IActorRef? sender, IActorRef recipient, string reason)
    {
        if (message is DeadLetter)
        {
            // A DeadLetter to a dead subscriber: publishing it again could loop forever.
            ActorsLog.DeadLetterDropped(Log, recipient.Path);
            return;
        }

        // Log first, then publish: a test that saw the event can rely on the log entry existing.
        ActorsLog.DeadLetter(Log, message.GetType().Name, sender?.Path.ToString() ?? "(no sender)", recipient.Path, reason);
        EventStream.Publish(new DeadLetter(message, sender, recipient, reason));
    }

    internal void PublishMailboxFull(object message, IActorRef? sender, IActorRef recipient, int capacity)
    {
        ActorsLog.MailboxFull(Log, recipient.Path, capacity, message.GetType().Name, sender?.Path.ToString() ?? "(no sender)");
        EventStream.Publish(new DeadLetter(message, sender, recipient, DeadLetterReasons.MailboxFull));
    }

    /// <summary>A system message reached an actor that has stopped (or a ref that is not an actor).</summary>
    internal void HandleDeadSystemMessage(SystemMessage message, IInternalActorRef deadActor)
    {
        switch (message)
        {
            case Watch watch:
                // Watching the dead still yields exactly one Terminated.
                watch.Watcher.SendSystemMessage(new DeathWatchNotification(watch.Watchee));
                break;
            case RunContinuation continuation:
                // Let the handler's awaits run to completion (they see the cancelled token).
                ThreadPool.UnsafeQueueUserWorkItem(static c => c.Callback(c.State), continuation, preferLocal: false);
                break;
            default:
                ActorsLog.DeadSystemMessage(Log, message.GetType().Name, deadActor.Path);
                break;
        }
    }

    internal void OnGuardianFailed(IActorRef guardian, Exception cause)
    {
        ActorsLog.GuardianFailed(Log, guardian.Path, Name, cause);
        Interlocked.CompareExchange(ref _terminationCause, cause, null);
        BeginTerminate(cause);
    }

    internal void OnGuardianTerminated(IInternalActorRef guardian)
    {
        if (ReferenceEquals(guardian, _userGuardian.SelfRef))
        {
            Interlocked.Exchange(ref _terminating, 1);
            _systemGuardian.SelfRef.SendSystemMessage(Dispatch.Terminate.Instance);
        }
        else if (ReferenceEquals(guardian, _systemGuardian.SelfRef))
        {
            Scheduler.Shutdown();
            var cause = Volatile.Read(ref _terminationCause);
            ActorsLog.SystemTerminated(Log, Name, cause?.GetType().Name ?? "none");
            _terminated.TrySetResult(new ActorSystemTermination(cause));
        }
    }

    private void BeginTerminate(Exception? cause)
    {
        if (cause is not null)
        {
            Interlocked.CompareExchange(ref _terminationCause, cause, null);
        }

        if (Interlocked.Exchange(ref _terminating, 1) == 0)
        {
            _userGuardian.SelfRef.SendSystemMessage(Dispatch.Terminate.Instance);
        }
    }

    private static Func<double> LockedRandom()
    {
        // Not shared between systems; seeded by the runtime. Callers wanting repeatable jitter
        // inject ActorSystemOptions.RandomSource.
        var random = new Random();
        var gate = new Lock();
        return () =>
        {
            lock (gate)
            {
                return random.NextDouble();
            }
        };
    }
}
