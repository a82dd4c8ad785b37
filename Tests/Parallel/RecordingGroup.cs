using RnnCluster.Training.Parallel;

namespace RnnCluster.Tests.Parallel;

/// <summary>A group of one that records each reduction as it is started (a copy of what it was given).</summary>
internal sealed class RecordingGroup : IGradientExchange
{
    public List<(string Name, float[] Values)> Calls { get; } = [];

    public int Rank => 0;

    public int Size => 1;

    public void AllReduce(Memory<float> values, long step, int segment) => Calls.Add(($"sync {segment}", values.ToArray()));

    public Task AllReduceAsync(Memory<float> values, long step, int segment)
    {
        Calls.Add(($"async {segment}", values.ToArray()));
        return Task.CompletedTask;
    }

    public float[][] AllGather(float[] mine, long step) => [mine];
}
