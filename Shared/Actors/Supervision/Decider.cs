namespace RnnCluster.Actors;

/// <summary>Maps a child's exception to a <see cref="Directive"/>.</summary>
public sealed class Decider
{
    private readonly Func<Exception, Directive> _decide;

    private Decider(Func<Exception, Directive> decide) => _decide = decide;

    /// <summary>
    /// Akka's default: stop on <see cref="ActorInitializationException"/>, <see cref="ActorKilledException"/>
    /// and <see cref="DeathPactException"/> (restarting cannot help them), restart on anything else.
    /// </summary>
    public static Decider Default { get; } = From(
        Directive.Restart,
        (typeof(ActorInitializationException), Directive.Stop),
        (typeof(ActorKilledException), Directive.Stop),
        (typeof(DeathPactException), Directive.Stop));

    public static Decider From(Func<Exception, Directive> decide)
    {
        ArgumentNullException.ThrowIfNull(decide);
        return new Decider(decide);
    }

    /// <summary>
    /// Chooses by exception type: the case whose type is the closest base of the thrown exception
    /// wins (so listing both <see cref="Exception"/> and <see cref="ArgumentException"/> works in any
    /// order); <paramref name="defaultDirective"/> applies when none matches.
    /// </summary>
    public static Decider From(Directive defaultDirective, params (Type Exception, Directive Directive)[] cases)
    {
        ArgumentNullException.ThrowIfNull(cases);
        foreach (var (type, _) in cases)
        {
            if (type is null || !typeof(Exception).IsAssignableFrom(type))
            {
                throw new ArgumentException($"Decider cases name exception types; got {type?.FullName ?? "null"}.", nameof(cases));
            }
        }

        var copy = cases.ToArray();
        return new Decider(exception =>
        {
            Directive? best = null;
            var bestDepth = int.MaxValue;
            foreach (var (type, directive) in copy)
            {
                var depth = InheritanceDistance(exception.GetType(), type);
                if (depth < bestDepth)
                {
                    bestDepth = depth;
                    best = directive;
                }
            }

            return best ?? defaultDirective;
        });
    }

    public Directive Decide(Exception exception)
    {
        ArgumentNullException.ThrowIfNull(exception);
        return _decide(exception);
    }

    private static int InheritanceDistance(Type thrown, Type candidate)
    {
        var depth = 0;
        for (var t = thrown; t is not null; t = t.BaseType, depth++)
        {
            if (t == candidate)
            {
                return depth;
            }
        }

        return int.MaxValue;
    }
}
