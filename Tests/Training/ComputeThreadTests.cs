using RnnCluster.Tests.Support;
using RnnCluster.Training;

namespace RnnCluster.Tests.Training;

/// <summary>
/// A replica's compute thread. Its operating-system thread is reused by the next compute thread (under
/// that one's name), so a replaced replica computes in the malloc arena its predecessor freed its working set
/// into (docs/soak.md, finding 7); disposing one still waits for its work, as a join did.
/// </summary>
public sealed class ComputeThreadTests
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task A_compute_thread_that_ends_hands_its_thread_to_the_next_one_under_the_new_name()
    {
        var park = new ComputeThreadPark();
        int first;
        using (var thread = new ComputeThread("replica-0", park))
        {
            first = await thread.RunAsync(() => Environment.CurrentManagedThreadId).WaitAsync(Limit);
            Assert.Equal(thread.ManagedThreadId, first);
            Assert.NotEqual(Environment.CurrentManagedThreadId, first);
            Assert.Equal(0, park.Count);
        }

        Assert.Equal(1, park.Count);
        using var next = new ComputeThread("replica-3", park);
        using var other = new ComputeThread("replica-1", park);
        Assert.Equal(0, park.Count);
        Assert.Equal((first, "replica-3"), await next.RunAsync(() => (Environment.CurrentManagedThreadId, Thread.CurrentThread.Name)).WaitAsync(Limit));
        Assert.NotEqual(first, await other.RunAsync(() => Environment.CurrentManagedThreadId).WaitAsync(Limit));
    }

    [Fact]
    public async Task Two_live_compute_threads_of_one_name_run_on_two_threads()
    {
        var park = new ComputeThreadPark();
        using var a = new ComputeThread("replica-0", park);
        using var b = new ComputeThread("replica-0", park);

        Assert.NotEqual(
            await a.RunAsync(() => Environment.CurrentManagedThreadId).WaitAsync(Limit),
            await b.RunAsync(() => Environment.CurrentManagedThreadId).WaitAsync(Limit));
    }

    [Fact]
    public async Task Dispose_returns_after_the_queued_work_has_run_and_later_work_is_refused()
    {
        var thread = new ComputeThread("replica-0", new ComputeThreadPark());
        using var release = new ManualResetEventSlim();
        var blocked = thread.RunAsync(() => release.Wait(Limit));
        var queued = Enumerable.Range(0, 3).Select(i => thread.RunAsync(() => i)).ToList();

        var disposing = Task.Factory.StartNew(thread.Dispose, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        Assert.False(disposing.IsCompleted || blocked.IsCompleted);
        release.Set();
        await disposing.WaitAsync(Limit);

        // Completed before Dispose returned: a caller may free the replica then.
        Assert.True(await blocked);
        Assert.All(queued, t => Assert.True(t.IsCompletedSuccessfully));
        Assert.Equal([0, 1, 2], queued.Select(t => t.Result));
        Assert.Throws<ObjectDisposedException>(() => { _ = thread.RunAsync(() => 0); }); // at once, not in the task
    }

    [Fact]
    public async Task A_failing_body_faults_its_task_and_the_thread_goes_on()
    {
        using var thread = new ComputeThread("replica-0", new ComputeThreadPark());

        var failed = thread.RunAsync<int>(() => throw new InvalidOperationException("step failed"));
        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => failed.WaitAsync(Limit));
        Assert.Equal("step failed", error.Message);
        Assert.Equal(7, await thread.RunAsync(() => 7).WaitAsync(Limit));
    }

    [Fact]
    public async Task Disposed_from_its_own_work_it_finishes_that_work_and_parks_without_waiting_for_itself()
    {
        var park = new ComputeThreadPark();
        var thread = new ComputeThread("replica-0", park);

        Assert.Equal(1, await thread.RunAsync(() =>
        {
            thread.Dispose();
            return 1;
        }).WaitAsync(Limit));
        Assert.Throws<ObjectDisposedException>(() => { _ = thread.RunAsync(() => 0); }); // at once, not in the task

        // It parks once the work above has returned, which the task's completion may overtake.
        await Conditions.AwaitAsync(() => park.Count == 1, Limit, "the thread parked");

        using var next = new ComputeThread("replica-1", park);
        Assert.Equal(thread.ManagedThreadId, await next.RunAsync(() => Environment.CurrentManagedThreadId).WaitAsync(Limit));
    }
}
