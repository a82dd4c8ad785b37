using RnnCluster.Actors;

namespace RnnCluster.Tests.Actors.Support;

/// <summary>A parent with a given strategy that creates children on request and can be made to watch.</summary>
public sealed class SupervisorActor : ReceiveActor
{
    private readonly SupervisorStrategy _strategy;

    public SupervisorActor(SupervisorStrategy strategy, IActorRef? probe = null, string name = "supervisor", Incarnations? incarnations = null)
    {
        _strategy = strategy;
        var incarnation = incarnations?.Next() ?? 1;
        Receive<CreateChild>(c => Sender.Tell(Context.ActorOf(c.Props, c.Name)));
        Receive<WatchIt>(w => Context.Watch(w.Target));
        Receive<Fail>(f => throw f.Exception);
        if (probe is not null)
        {
            Receive<Say>(s => probe.Tell(new Said(name, s.Text, incarnation), Self));
        }
    }

    public static Props Props(SupervisorStrategy strategy, IActorRef? probe = null, string name = "supervisor", Incarnations? incarnations = null) =>
        RnnCluster.Actors.Props.Create(() => new SupervisorActor(strategy, probe, name, incarnations));

    protected override SupervisorStrategy SupervisorStrategy() => _strategy;
}
