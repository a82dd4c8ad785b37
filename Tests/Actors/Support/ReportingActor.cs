using RnnCluster.Actors;

namespace RnnCluster.Tests.Actors.Support;

/// <summary>Reports its lifecycle hooks and messages to a probe; fails on <see cref="Fail"/>.</summary>
public sealed class ReportingActor : ReceiveActor
{
    private readonly IActorRef _probe;
    private readonly string _name;
    private readonly int _incarnation;
    private int _count;

    public ReportingActor(IActorRef probe, string name, Incarnations incarnations)
    {
        ArgumentNullException.ThrowIfNull(incarnations);
        _probe = probe;
        _name = name;
        _incarnation = incarnations.Next();
        Receive<Fail>(f =>
        {
            _probe.Tell(new Said(_name, "handling " + f.Exception.Message, _incarnation), Self);
            throw f.Exception;
        });
        Receive<Say>(s => _probe.Tell(new Said(_name, s.Text, _incarnation), Self));
        Receive<Increment>(_ => _count++);
        Receive<GetState>(_ => Sender.Tell(new State(_count, _incarnation)));
        Receive<CreateChild>(c => Sender.Tell(Context.ActorOf(c.Props, c.Name)));
    }

    public static Props Props(IActorRef probe, string name, Incarnations? incarnations = null)
    {
        var counter = incarnations ?? new Incarnations();
        return RnnCluster.Actors.Props.Create(() => new ReportingActor(probe, name, counter));
    }

    protected override void PreStart() => _probe.Tell(new Hook(_name, "PreStart", _incarnation), Self);

    protected override void PostStop() => _probe.Tell(new Hook(_name, "PostStop", _incarnation), Self);

    protected override void PreRestart(Exception reason, object? message)
    {
        _probe.Tell(new Hook(_name, "PreRestart", _incarnation, message), Self);
        base.PreRestart(reason, message);
    }

    protected override void PostRestart(Exception reason)
    {
        _probe.Tell(new Hook(_name, "PostRestart", _incarnation), Self);
        base.PostRestart(reason);
    }
}
