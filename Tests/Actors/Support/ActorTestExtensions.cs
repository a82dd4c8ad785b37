using RnnCluster.Actors;
using RnnCluster.TestKit;

namespace RnnCluster.Tests.Actors.Support;

public static class ActorTestExtensions
{
    /// <summary>Creates a child of <paramref name="parent"/> through its <see cref="CreateChild"/> protocol.</summary>
    public static Task<IActorRef> CreateChildAsync(this IActorRef parent, Props props, string name) =>
        parent.Ask<IActorRef>(new CreateChild(props, name), TestKitSettings.DefaultTimeout);

    /// <summary>Receives <paramref name="count"/> messages of type <typeparamref name="T"/>, skipping others.</summary>
    public static async Task<List<T>> CollectAsync<T>(this TestProbe probe, int count, Func<T, bool>? filter = null)
    {
        ArgumentNullException.ThrowIfNull(probe);
        var collected = new List<T>();
        while (collected.Count < count)
        {
            collected.Add(await probe.FishForMessageAsync<T>(m => filter is null || filter(m), hint: $"message {collected.Count + 1} of {count}"));
        }

        return collected;
    }
}
