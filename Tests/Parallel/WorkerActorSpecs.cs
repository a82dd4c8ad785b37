using Akka.Actor;
using RnnCluster.Parallel;
using RnnCluster.Training.Parallel;
using Xunit.Abstractions;

namespace RnnCluster.Tests.Parallel;

/// <summary>The worker side of the step protocol on Akka.NET: supervision, refused gradients and idempotent retries.</summary>
public sealed class WorkerActorSpecs(ITestOutputHelper output) : Akka.TestKit.Xunit2.TestKit(output: output)
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task A_worker_answers_its_shard_with_the_step_generation_and_attempt_it_was_sent()
    {
        using var run = new SpecLoop();
        var command = await run.FirstCommandAsync();
        var worker = ActorOf(Props.Create(() => new WorkerActor(run.Worker(0), TestActor)));

        worker.Tell(command);

        var reply = await ExpectMsgAsync<WindowGradients>(Wait);
        Assert.Equal((command.Step, command.Generation, command.Attempt, 0), (reply.Step, reply.Generation, reply.Attempt, reply.WorkerIndex));
        Assert.Equal(run.Loop.Master.ParameterCount, reply.Gradients.Length);
        Assert.True(reply.Tokens > 0 && double.IsFinite(reply.LossSum));
        Assert.Contains(reply.Gradients, g => g != 0);
    }

    [Fact]
    public async Task A_lost_reply_is_recovered_by_retrying_the_command_which_answers_the_same_bytes_without_computing_again()
    {
        using var run = new SpecLoop();
        var command = await run.FirstCommandAsync();
        // The first answer is lost; the script has no second fault, so were the retry computed afresh it
        // would still answer, but it must come from the last reply (identical gradients, same buffer).
        var faults = new WorkerFaults().At(0, command.Step, WorkerFaultKind.NoReply);
        var worker = ActorOf(Props.Create(() => new WorkerActor(run.Worker(0, faults), TestActor)));

        // No quiet window: the worker answers its commands in order, so a reply to the first attempt would
        // arrive before the retry's and fail the attempt check below.
        worker.Tell(command);
        worker.Tell(command with { Attempt = command.Attempt + 1 });

        var reply = await ExpectMsgAsync<WindowGradients>(Wait);
        Assert.Equal(command.Attempt + 1, reply.Attempt);
        using var fresh = new SpecLoop();
        var reference = ActorOf(Props.Create(() => new WorkerActor(fresh.Worker(0), TestActor)));
        reference.Tell(await fresh.FirstCommandAsync());
        var expected = await ExpectMsgAsync<WindowGradients>(Wait);
        Assert.Equal(reference, LastSender);
        Assert.Equal(expected.Gradients, reply.Gradients);
        Assert.Equal(expected.LossSum, reply.LossSum);
    }

    [Fact]
    public async Task A_throwing_worker_is_restarted_says_which_step_failed_and_computes_the_retried_shard()
    {
        using var run = new SpecLoop();
        var command = await run.FirstCommandAsync();
        var faults = new WorkerFaults().At(0, command.Step, WorkerFaultKind.Throw);
        var supervisor = ChildActorOf(Props.Create(() => new WorkerSupervisor(new[] { run.Worker(0, faults) }, 3, TimeSpan.FromMinutes(1))));
        var worker = (await ExpectMsgAsync<WorkersReady>(Wait)).Workers.Single().Ref;
        Watch(worker);

        worker.Tell(command);
        var failed = await ExpectMsgAsync<ShardFailed>(Wait);
        Assert.Equal((0, command.Step), (failed.WorkerIndex, failed.Step));
        Assert.Contains("injected fault", failed.Reason, StringComparison.Ordinal);

        worker.Tell(command with { Attempt = 2 });
        var reply = await ExpectMsgAsync<WindowGradients>(Wait);
        Assert.Equal(2, reply.Attempt);
        Assert.NotNull(supervisor);
    }

    [Fact]
    public async Task A_NaN_gradient_is_refused_by_the_worker_itself_and_never_sent()
    {
        using var run = new SpecLoop();
        var command = await run.FirstCommandAsync();
        var faults = new WorkerFaults().At(0, command.Step, WorkerFaultKind.NaNGradient);
        ChildActorOf(Props.Create(() => new WorkerSupervisor(new[] { run.Worker(0, faults) }, 3, TimeSpan.FromMinutes(1))));
        var worker = (await ExpectMsgAsync<WorkersReady>(Wait)).Workers.Single().Ref;

        worker.Tell(command);

        var failed = await ExpectMsgAsync<ShardFailed>(Wait);
        Assert.Contains("gradient norm NaN", failed.Reason, StringComparison.Ordinal);

        // The retry's gradients are the next message: a NaN gradient sent before the failure would come first.
        worker.Tell(command with { Attempt = command.Attempt + 1 });
        var retried = await ExpectMsgAsync<WindowGradients>(Wait);
        Assert.Equal(command.Attempt + 1, retried.Attempt);
        Assert.All(retried.Gradients, g => Assert.True(float.IsFinite(g)));
    }

    [Fact]
    public async Task A_NaN_that_a_fresh_replica_computes_again_is_sent_when_the_retry_asks_for_it_and_fails_no_worker()
    {
        using var run = new SpecLoop();
        var command = await run.FirstCommandAsync();
        // The same NaN twice: what data that yields a NaN does (training.numerics; the coordinator skips the step).
        var faults = new WorkerFaults().At(0, command.Step, WorkerFaultKind.NaNGradient, times: 2);
        ChildActorOf(Props.Create(() => new WorkerSupervisor(new[] { run.Worker(0, faults) }, 3, TimeSpan.FromMinutes(1))));
        var worker = (await ExpectMsgAsync<WorkersReady>(Wait)).Workers.Single().Ref;

        worker.Tell(command);
        var failed = await ExpectMsgAsync<ShardFailed>(Wait);
        Assert.True(failed.NonFinite);

        worker.Tell(command with { Attempt = command.Attempt + 1, ReportNonFinite = true });
        var reported = await ExpectMsgAsync<WindowGradients>(Wait);
        Assert.Equal(command.Attempt + 1, reported.Attempt);
        Assert.True(float.IsNaN(reported.Gradients[0]));
        Assert.True(double.IsFinite(reported.LossSum));
    }

    [Fact]
    public async Task A_worker_that_fails_max_worker_failures_times_within_the_window_is_stopped_not_restarted()
    {
        using var run = new SpecLoop();
        var command = await run.FirstCommandAsync();
        var faults = new WorkerFaults().From(0, 0, WorkerFaultKind.Throw);
        ChildActorOf(Props.Create(() => new WorkerSupervisor(new[] { run.Worker(0, faults) }, 3, TimeSpan.FromMinutes(1))));
        var worker = (await ExpectMsgAsync<WorkersReady>(Wait)).Workers.Single().Ref;
        Watch(worker);

        for (var attempt = 1; attempt <= 3; attempt++)
        {
            worker.Tell(command with { Attempt = attempt });
            if (attempt < 3)
            {
                Assert.Equal(command.Step, (await ExpectMsgAsync<ShardFailed>(Wait)).Step);
            }
        }

        // The third failure stops it: no restart (so no ShardFailed), a Terminated for its watchers.
        await ExpectTerminatedAsync(worker, Wait);
    }
}
