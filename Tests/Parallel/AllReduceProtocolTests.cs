using RnnCluster.Training.Parallel;

namespace RnnCluster.Tests.Parallel;

/// <summary>
/// The step protocol when the workers all-reduce among themselves: who is seeded by the coordinator, who
/// syncs from a peer, which commit each command carries, and what an abandoned step does.
/// </summary>
public sealed class AllReduceProtocolTests
{
    [Fact]
    public async Task The_first_generation_is_seeded_by_the_coordinator_and_later_commands_carry_the_commit_but_no_parameters()
    {
        using var run = new SpecLoop();
        var protocol = Protocol(run, 0, 1);
        Assert.True(protocol.NeedsSeed);
        var master = run.Loop.Master.ParameterArray!;
        protocol.Seed = new ReplicaCopy(0, master, [], 0);

        var first = Open(protocol, await NextAsync(run));
        Assert.Equal(2, first.Count);
        Assert.All(first, c => Assert.Equal(master, c.Parameters));
        Assert.Equal([0, 1], first.Select(c => c.Exchange!.Rank));
        Assert.All(first, c => Assert.Equal(["w0#1@127.0.0.1:9000", "w1#1@127.0.0.1:9001"], c.Exchange!.Members));
        Assert.All(first, c => Assert.Null(c.Exchange!.Commit));
        Assert.All(first, c => Assert.Equal(-1, c.Exchange!.SyncSource));

        var closed = CloseWith(protocol, first);
        Assert.Equal(0.25, closed.Norm);
        // Both replicas reduced the seeded step: they hold the run now.
        Assert.False(protocol.NeedsSeed);
        await run.Loop.CompleteStepAsync(closed.Step, closed.LossSum, closed.Tokens);
        protocol.Commit = new StepCommit(1, 0.5);

        var second = Open(protocol, await NextAsync(run));
        Assert.All(second, c => Assert.Empty(c.Parameters));
        Assert.All(second, c => Assert.Equal(new StepCommit(1, 0.5), c.Exchange!.Commit));
        Assert.All(second, c => Assert.Equal(-1, c.Exchange!.SyncSource));
    }

    [Fact]
    public async Task A_joiner_gets_the_run_from_the_first_member_that_holds_it_and_nobody_is_seeded()
    {
        using var run = new SpecLoop();
        var protocol = await SeededAsync(run, 0);

        protocol.SetAddress(1, "w1#1@127.0.0.1:9001");
        protocol.Join(1);
        Assert.True(protocol.TakeJoiners());
        Assert.False(protocol.NeedsSeed);
        var commands = Open(protocol, await NextAsync(run));

        Assert.Equal(2, commands.Count);
        Assert.All(commands, c => Assert.Equal(0, c.Exchange!.SyncSource));
        Assert.All(commands, c => Assert.Empty(c.Parameters));
        Assert.Equal(0, protocol.Holder);
    }

    [Fact]
    public async Task An_abandoned_step_forms_a_new_generation_and_a_restarted_replica_is_synced_from_a_peer()
    {
        using var run = new SpecLoop();
        var protocol = await SeededAsync(run, 0, 1);
        var commands = Open(protocol, await NextAsync(run));
        var generation = protocol.Generation;

        var abandoned = new WindowGradients(commands[0].Step, generation, commands[0].Attempt, 0, 0, 0, [], [], Abandoned: true);
        Assert.Equal(ReplyVerdict.Abandoned, protocol.Accept(abandoned));
        protocol.Regenerate();
        Assert.Equal(generation + 1, protocol.Generation);
        var again = protocol.Redispatch().Select(c => (ComputeWindow)c.Command).ToList();
        Assert.All(again, c => Assert.Equal(-1, c.Exchange!.SyncSource));
        // Replies of the abandoned generation never count.
        Assert.Equal(ReplyVerdict.Stale, protocol.Accept(abandoned with { Abandoned = false }));

        protocol.Regenerate(replaced: 1);
        var synced = protocol.Redispatch().Select(c => (ComputeWindow)c.Command).ToList();
        Assert.All(synced, c => Assert.Equal(0, c.Exchange!.SyncSource));
        Assert.All(synced, c => Assert.Empty(c.Parameters));
    }

    [Fact]
    public async Task When_every_worker_that_held_the_run_is_gone_the_next_plan_needs_a_seed()
    {
        using var run = new SpecLoop();
        var protocol = await SeededAsync(run, 0);

        protocol.SetAddress(1, "w1#1@127.0.0.1:9001");
        protocol.Join(1);
        Assert.True(protocol.Remove(0));
        protocol.TakeJoiners();

        Assert.True(protocol.NeedsSeed);
        Assert.Null(protocol.Holder);
        var next = await NextAsync(run);
        Assert.Throws<InvalidOperationException>(() => Open(protocol, next));
    }

    /// <summary>A plan of <paramref name="workers"/> seeded from the master, its first step completed and committed.</summary>
    private static async Task<StepProtocol> SeededAsync(SpecLoop run, params int[] workers)
    {
        var protocol = Protocol(run, workers);
        protocol.Seed = new ReplicaCopy(0, run.Loop.Master.ParameterArray!, [], 0);
        await CompleteAsync(run, protocol, Open(protocol, await NextAsync(run)));
        return protocol;
    }

    private static async Task CompleteAsync(SpecLoop run, StepProtocol protocol, List<ComputeWindow> commands)
    {
        var closed = CloseWith(protocol, commands);
        await run.Loop.CompleteStepAsync(closed.Step, closed.LossSum, closed.Tokens);
        protocol.Commit = new StepCommit(closed.Step.Step, 0.5);
    }

    private static StepProtocol Protocol(SpecLoop run, params int[] workers)
    {
        run.Loop.Start();
        var protocol = new StepProtocol(run.Loop.StreamCount, allReduce: true);
        foreach (var w in workers)
        {
            protocol.SetAddress(w, $"w{w}#1@127.0.0.1:{9000 + w}");
            protocol.Join(w);
        }

        protocol.TakeJoiners();
        return protocol;
    }

    private static async Task<RnnCluster.Training.ITrainingStep> NextAsync(SpecLoop run) =>
        await run.Loop.NextStepAsync(CancellationToken.None) ?? throw new InvalidOperationException("the spec run ended");

    private static List<ComputeWindow> Open(StepProtocol protocol, RnnCluster.Training.ITrainingStep step) =>
        [.. protocol.Open(step, []).Select(c => (ComputeWindow)c.Command)];

    private static ClosedStep CloseWith(StepProtocol protocol, IEnumerable<ComputeWindow> commands)
    {
        var verdict = ReplyVerdict.Accepted;
        foreach (var c in commands)
        {
            verdict = protocol.Accept(new WindowGradients(c.Step, c.Generation, c.Attempt, c.FirstStream / c.StreamCount, 1.0, 10, [], new float[c.State.Length], Norm: 0.25));
        }

        Assert.Equal(ReplyVerdict.StepComplete, verdict);
        return protocol.Close([]);
    }
}
