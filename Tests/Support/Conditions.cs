namespace RnnCluster.Tests.Support;

/// <summary>
/// Akka's <c>AwaitCondition</c>: for state that announces no event (a table that settles after a race
/// between two connections), check it repeatedly until it holds or the dilated limit passes.
/// </summary>
public static class Conditions
{
    private static readonly TimeSpan Interval = TimeSpan.FromMilliseconds(20);

    /// <exception cref="TestKitAssertionException">The condition did not hold within <paramref name="limit"/>.</exception>
    public static async Task AwaitAsync(Func<bool> condition, TimeSpan limit, string what, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(condition);
        var deadline = TimeProvider.System.GetTimestamp() + (long)(TestKitSettings.Dilated(limit).TotalSeconds * TimeProvider.System.TimestampFrequency);
        using var timer = new PeriodicTimer(Interval);
        while (!condition())
        {
            if (TimeProvider.System.GetTimestamp() > deadline)
            {
                throw new TestKitAssertionException($"{what} did not become true within {TestKitSettings.Dilated(limit).TotalSeconds:0.#} s");
            }

            await timer.WaitForNextTickAsync(cancellationToken).ConfigureAwait(false);
        }
    }
}
