namespace RnnCluster.Actors;

/// <summary>Applies the directive to the failed child only.</summary>
public sealed class OneForOneStrategy : SupervisorStrategy
{
    public OneForOneStrategy(Decider decider)
        : base(decider)
    {
    }

    public OneForOneStrategy(Func<Exception, Directive> decide)
        : base(Decider.From(decide))
    {
    }

    private protected override bool AppliesToAllChildren => false;
}
