namespace RnnCluster.Actors;

/// <summary>
/// Applies Restart and Stop to the failed child and all its siblings (each sibling really gets a
/// new incarnation on restart); Resume applies to the failed child only. Use it when children
/// share state that one failure invalidates — e.g. replicas that must stay in lock-step.
/// </summary>
public sealed class AllForOneStrategy : SupervisorStrategy
{
    public AllForOneStrategy(Decider decider)
        : base(decider)
    {
    }

    public AllForOneStrategy(Func<Exception, Directive> decide)
        : base(Decider.From(decide))
    {
    }

    private protected override bool AppliesToAllChildren => true;
}
