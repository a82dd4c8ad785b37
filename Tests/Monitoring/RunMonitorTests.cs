using RnnCluster.Monitoring;
using RnnCluster.Tests.Support;

namespace RnnCluster.Tests.Monitoring;

public sealed class RunMonitorTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    [Fact]
    public void A_full_history_is_thinned_evenly_and_keeps_the_newest_point()
    {
        var monitor = ScriptedRun.Monitor(new ManualTimeProvider(), trainCapacity: 10);
        monitor.OnStart(ScriptedRun.Start());
        for (var step = 1; step <= 25; step++)
        {
            monitor.OnStep(ScriptedRun.Step(step));
        }

        // 9 kept + a slot for the newest. Full at step 10: 1,3,5,7,9 kept, every second step from then on
        // (11..17); full at step 18: 1,5,9,13,17, every fourth from then on (21, 25).
        var train = monitor.Snapshot().Train;
        Assert.Equal([1L, 5, 9, 13, 17, 21, 25], train.Steps);
        Assert.Equal(train.Steps.Select(s => 10.0 / s), train.Values[0]);
        Assert.Equal(train.Steps.Select(s => 1000.0 * s), train.Values[3]);

        // A step that is not kept still ends a copy: the chart always reaches the newest point.
        monitor.OnStep(ScriptedRun.Step(26));
        Assert.Equal([1L, 5, 9, 13, 17, 21, 25, 26], monitor.Snapshot().Train.Steps);
        Assert.Equal(10.0 / 26, monitor.Snapshot().Train.Values[0][^1]);
    }

    [Fact]
    public void The_history_never_holds_more_than_its_capacity()
    {
        var monitor = ScriptedRun.Monitor(new ManualTimeProvider(), trainCapacity: 1000);
        for (var step = 1; step <= 50_000; step++)
        {
            monitor.OnStep(ScriptedRun.Step(step));
            if (step % 997 == 0)
            {
                Assert.InRange(monitor.Snapshot().Train.Count, 1, 1000);
            }
        }

        var steps = monitor.Snapshot().Train.Steps;
        Assert.Equal(50_000, steps[^1]);
        Assert.True(steps.Zip(steps.Skip(1)).All(p => p.First < p.Second), "steps stay in order");
        // Thinned evenly, not cut off: the curve still starts at step 1 and its points are equally spaced.
        Assert.Equal(1, steps[0]);
        var gaps = steps.Zip(steps.Skip(1)).Select(p => p.Second - p.First).SkipLast(1).Distinct();
        Assert.Single(gaps);
    }

    [Fact]
    public async Task A_follower_sees_every_step_after_its_snapshot_exactly_once_while_steps_arrive()
    {
        var monitor = ScriptedRun.Monitor(new ManualTimeProvider());
        monitor.OnStart(ScriptedRun.Start(totalSteps: 3000));
        using var halfway = new ManualResetEventSlim();
        var trainer = Task.Factory.StartNew(
            () =>
            {
                for (var step = 1; step <= 3000; step++)
                {
                    monitor.OnStep(ScriptedRun.Step(step));
                    if (step == 1500)
                    {
                        halfway.Set();
                    }
                }
            },
            CancellationToken.None,
            TaskCreationOptions.LongRunning,
            TaskScheduler.Default);

        // Subscribe while the trainer is in full flight.
        Assert.True(halfway.Wait(Patience));
        var (snapshot, subscription) = monitor.Subscribe();
        using (subscription)
        {
            var seen = new List<long>(snapshot.Train.Steps);
            using var timeout = new CancellationTokenSource(Patience);
            while (seen[^1] < 3000)
            {
                var update = await subscription.Updates.ReadAsync(timeout.Token);
                seen.Add(Assert.IsType<StepUpdate>(update).Step);
            }

            Assert.Equal(Enumerable.Range(1, 3000).Select(s => (long)s), seen);
        }

        await trainer.WaitAsync(Patience);
    }

    [Fact]
    public async Task A_follower_that_does_not_read_is_cut_off_and_training_is_never_held_up()
    {
        var monitor = ScriptedRun.Monitor(new ManualTimeProvider());
        monitor.OnStart(ScriptedRun.Start());
        var (_, stuck) = monitor.Subscribe();
        using (stuck)
        {
            // Twice the follower's capacity, on this very thread: every call returns, none waits for the follower.
            for (var step = 1; step <= RunMonitor.SubscriberCapacity * 2; step++)
            {
                monitor.OnStep(ScriptedRun.Step(step));
            }

            Assert.True(stuck.Dropped);
            Assert.Equal(0, monitor.FollowerCount);

            // It keeps what it got before it was cut off (steps 1..capacity, no more), then its stream ends.
            var kept = new List<long>();
            while (stuck.Updates.TryRead(out var update))
            {
                kept.Add(Assert.IsType<StepUpdate>(update).Step);
            }

            Assert.Equal(Enumerable.Range(1, RunMonitor.SubscriberCapacity).Select(s => (long)s), kept);
            await stuck.Updates.Completion.WaitAsync(Patience);
        }

        // A new follower starts from the whole history.
        var (snapshot, again) = monitor.Subscribe();
        using (again)
        {
            Assert.Equal(RunMonitor.SubscriberCapacity * 2, snapshot.Train.Steps[^1]);
            monitor.OnStep(ScriptedRun.Step((RunMonitor.SubscriberCapacity * 2) + 1));
            Assert.True(again.Updates.TryRead(out var next));
            Assert.Equal((RunMonitor.SubscriberCapacity * 2) + 1, Assert.IsType<StepUpdate>(next).Step);
        }

        Assert.Equal(0, monitor.FollowerCount);
    }

    [Fact]
    public void Members_joining_and_changing_state_become_member_events()
    {
        var monitor = ScriptedRun.Monitor(new ManualTimeProvider());
        monitor.MembersChanged([ScriptedRun.Worker(1, MemberStates.Joining), ScriptedRun.Worker(0, MemberStates.Up)]);
        monitor.MemberChanged(ScriptedRun.Worker(1, MemberStates.Up));
        monitor.MemberChanged(ScriptedRun.Worker(1, MemberStates.Lost));
        monitor.GenerationStarted(2, "worker local/worker-1 lost");
        monitor.Failure("step 7 retried");

        var snapshot = monitor.Snapshot();
        Assert.Equal([0, 1], snapshot.Members.Select(m => m.Index));
        Assert.Equal(MemberStates.Lost, snapshot.Members[1].State);
        Assert.Equal(2, snapshot.Generation);
        Assert.Equal(
            [
                "member:worker 1 (local/worker-1) joining",
                "member:worker 0 (local/worker-0) up",
                "member:worker 1 (local/worker-1): joining -> up",
                "member:worker 1 (local/worker-1): up -> lost",
                "generation:generation 2: worker local/worker-1 lost",
                "failure:step 7 retried",
            ],
            snapshot.Events.Select(e => $"{e.Kind}:{e.Text}"));
    }

    [Fact]
    public void Each_actor_changes_only_the_member_fields_it_knows()
    {
        var monitor = ScriptedRun.Monitor(new ManualTimeProvider());
        monitor.MemberChanged(0, MemberStates.Coordinator, "akka.tcp://rnncluster@10.0.0.1:2552", MemberStates.Up, incarnation: 4);
        monitor.MemberChanged(3, MemberStates.Worker, "akka.tcp://rnncluster@10.0.0.2:2552", incarnation: 7);
        monitor.MemberChanged(3, MemberStates.Worker, state: MemberStates.Up, streamShare: 0.25);
        monitor.MemberChanged(3, MemberStates.Worker, state: MemberStates.Unreachable);

        var members = monitor.Snapshot().Members;
        Assert.Equal(
            [
                new MemberStatus(0, MemberStates.Coordinator, "akka.tcp://rnncluster@10.0.0.1:2552", MemberStates.Up, 4, null, null),
                new MemberStatus(3, MemberStates.Worker, "akka.tcp://rnncluster@10.0.0.2:2552", MemberStates.Unreachable, 7, null, 0.25),
            ],
            members);
        Assert.Equal(4, monitor.Snapshot().Events.Count);
    }

    [Fact]
    public void The_run_is_waiting_then_training_then_finished_or_failed()
    {
        var time = new ManualTimeProvider();
        var monitor = ScriptedRun.Monitor(time);
        Assert.Equal(RunStates.Waiting, monitor.Snapshot().State);
        Assert.False(monitor.IsTraining);
        Assert.Null(monitor.Snapshot().Run.StartedUnix);

        monitor.OnStart(ScriptedRun.Start());
        Assert.True(monitor.IsTraining);
        Assert.Equal(time.GetUtcNow().ToUnixTimeMilliseconds() / 1000.0, monitor.Snapshot().Run.StartedUnix);
        Assert.Equal(1234, monitor.Snapshot().Run.Parameters);

        monitor.Finished();
        Assert.False(monitor.IsTraining);
        Assert.Equal(RunStates.Finished, monitor.Snapshot().State);

        monitor.Finished("out of memory");
        Assert.Equal(RunStates.Failed, monitor.Snapshot().State);
        Assert.Equal("out of memory", monitor.Snapshot().LastError);
    }

    [Fact]
    public void A_failed_checkpoint_is_the_last_error_through_a_composite_observer()
    {
        var monitor = ScriptedRun.Monitor(new ManualTimeProvider());
        RnnCluster.Training.ITrainingObserver observer = new RnnCluster.Training.CompositeTrainingObserver(new RnnCluster.Training.CompositeTrainingObserver(), monitor);
        observer.OnCheckpointFailed(40, "/runs/test/checkpoints/step-000040", "No space left on device");

        var snapshot = monitor.Snapshot();
        Assert.Equal("checkpoint step 40 failed (/runs/test/checkpoints/step-000040): No space left on device", snapshot.LastError);
        Assert.Equal(RunEventKinds.Error, Assert.Single(snapshot.Events).Kind);
    }

    [Fact]
    public void Step_times_set_the_split_and_each_named_workers_step_time()
    {
        var monitor = ScriptedRun.Monitor(new ManualTimeProvider());
        monitor.MembersChanged([ScriptedRun.Worker(0, MemberStates.Up), ScriptedRun.Worker(1, MemberStates.Up)]);
        monitor.StepTimes(new StepSplit(30, 5, 2), new Dictionary<int, double> { [1] = 31.5 });

        var snapshot = monitor.Snapshot();
        Assert.Equal(new StepSplit(30, 5, 2), snapshot.Split);
        Assert.Null(snapshot.Members[0].StepMs);
        Assert.Equal(31.5, snapshot.Members[1].StepMs);
    }
}
