using System.Diagnostics;
using RnnCluster.Model;
using RnnCluster.Torch;
using TorchSharp;

namespace RnnCluster.Tests.Torch;

/// <summary>
/// Every training step frees what it allocated: live tensors and resident memory stay flat over a long
/// run. Alone in its collection, so other tests' allocations do not move the process's resident size.
/// </summary>
[Collection(MemoryStabilityCollection.Name)]
public sealed class MemoryStabilityTests
{
    [Fact]
    public void Live_tensors_and_resident_memory_stay_flat_over_hundreds_of_training_steps()
    {
        var arch = new ModelArchitecture(CellKind.Lstm, 2, EmbeddingSize: 32, HiddenSize: 32, VocabularySize: 200, TieWeights: false);
        using var model = new RnnModel(new ModelOptions(arch) { DropoutEmbedding = 0.2, DropoutBetweenLayers = 0.2, DropoutOutput = 0.2 });
        using var optimizer = new Optimizer(model, new OptimizerOptions(OptimizerAlgorithm.Adam));
        const int steps = 10, streams = 8;
        var state = new float[streams * model.StateSizePerStream];
        var next = new float[state.Length];
        var logits = new float[streams * arch.VocabularySize];
        void Step(int i)
        {
            var inputs = TinyModels.Ids(steps, streams, arch.VocabularySize, i);
            var targets = TinyModels.Ids(steps, streams, arch.VocabularySize, i + 1);
            model.ZeroGradients();
            model.ForwardBackward<float>(inputs, targets, steps, streams, state, next, train: true, backward: true);
            model.ScaleAndClipGradients(1.0 / (steps * streams), 0.25);
            optimizer.Step(model, 0.001);
            model.LastLogits<float>(inputs, steps, streams, next, state, logits);
        }

        for (var i = 0; i < 50; i++)
        {
            Step(i);
        }

        var live = DisposeScopeManager.Statistics.ThreadTotalLiveCount;
        var resident = Resident();
        for (var i = 50; i < 650; i++)
        {
            Step(i);
        }

        Assert.Equal(live, DisposeScopeManager.Statistics.ThreadTotalLiveCount);

        // A leaked step (activations of a window, a gradient) would add megabytes per step; allow allocator noise.
        var growth = Resident() - resident;
        Assert.True(growth < 32L << 20, $"resident memory grew by {growth >> 20} MiB over 600 steps");
    }

    private static long Resident()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        using var self = Process.GetCurrentProcess();
        self.Refresh();
        return self.WorkingSet64;
    }
}

[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class MemoryStabilityCollection
{
    public const string Name = "memory stability (alone)";
}
