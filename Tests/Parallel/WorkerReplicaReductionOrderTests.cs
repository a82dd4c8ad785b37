using RnnCluster.Torch;
using RnnCluster.Training.Parallel;

namespace RnnCluster.Tests.Parallel;

/// <summary>
/// The order in which an all-reducing language-model worker puts a step's reductions on the wire: the
/// embedding's row marks and the token count before forward (the inputs and targets say which rows the
/// step looks up and how many targets it has), the decoder's blocks and the recurrent layers while backward
/// runs, and after backward only the looked-up rows.
/// </summary>
public sealed class WorkerReplicaReductionOrderTests
{
    private const int CountSegment = 1;
    private const int RowMarksSegment = 1000;
    private const int EmbeddingRowsSegment = 1001;

    [Fact]
    public async Task Row_marks_and_the_token_count_go_before_forward_and_only_the_rows_after_backward()
    {
        using var first = await FirstWindow.StartAsync(TimeProvider.System, "cluster.decoder-gradient-blocks=4");
        var group = new RecordingGroup();

        var (reply, _) = first.Replica.Compute(first.In(group));

        Assert.False(reply.Abandoned);

        // Every segment the model reports during backward (the decoder's 4 blocks, from the setting, then its
        // one layer), all but the embedding, which goes row-wise after backward.
        var tapped = first.Loop.Master.GradientSegments.Count - 1;
        Assert.Equal(4 + 1, tapped);
        Assert.Equal(
            [
                $"async {RowMarksSegment}",
                $"async {CountSegment}",
                .. Enumerable.Range(2, tapped).Select(s => $"async {s}"),
                $"sync {EmbeddingRowsSegment}",
            ],
            group.Calls.Select(c => c.Name));

        // The marks are 1 for exactly the rows the window's inputs look up.
        var marks = group.Calls[0].Values;
        var looked = first.Window.Inputs.Select(id => (int)id).ToHashSet();
        var model = (RnnModel)first.Loop.Master;
        Assert.Equal(model.Architecture.VocabularySize, marks.Length);
        Assert.All(Enumerable.Range(0, marks.Length), r => Assert.Equal(looked.Contains(r) ? 1f : 0f, marks[r]));
        Assert.Equal(looked.Count * model.Architecture.EmbeddingSize, group.Calls[^1].Values.Length);

        // The count is the window's targets (none ignored in a language model's window), the loss's count.
        Assert.Equal([first.Window.Targets.Length], group.Calls[1].Values);
        Assert.Equal(first.Window.Targets.Length, reply.Tokens);
    }
}
