using RnnCluster.Actors;

namespace RnnCluster.Tests.Actors.Support;

// Messages of the test actors; tiny and only meaningful together.

/// <summary>A lifecycle hook ran: which actor, which hook, which incarnation (1 = first).</summary>
public sealed record Hook(string Actor, string Name, int Incarnation, object? Message = null);

/// <summary>Makes a <see cref="ReportingActor"/> report <c>handling</c>, then throw <paramref name="Exception"/>.</summary>
public sealed record Fail(Exception Exception);

/// <summary>A <see cref="ReportingActor"/> reports <see cref="Said"/> for it.</summary>
public sealed record Say(string Text);

public sealed record Said(string Actor, string Text, int Incarnation);

public sealed record Increment
{
    public static Increment Instance { get; } = new();
}

public sealed record GetState
{
    public static GetState Instance { get; } = new();
}

public sealed record State(int Count, int Incarnation);

/// <summary>Asks a <see cref="SupervisorActor"/> to create a child and reply with its ref.</summary>
public sealed record CreateChild(Props Props, string Name);

/// <summary>Asks an actor to watch <paramref name="Target"/> without handling Terminated.</summary>
public sealed record WatchIt(IActorRef Target);
