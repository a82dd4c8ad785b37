using RnnCluster.Data.Tasks;
using RnnCluster.Torch;

namespace RnnCluster.Training.Tasks;

/// <summary>
/// Evaluates a task model over batches (no dropout, no gradients): loss and accuracy as trained, plus
/// macro-F1 for acceptors, and exact match and token edit distance of the decoded outputs (greedy or
/// beam) for encoder–decoders.
/// </summary>
public static class TaskEvaluator
{
    public static EvaluationResult Evaluate(TorchModel model, IReadOnlyList<SequenceBatch> batches, int beamWidth, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(batches);
        double loss = 0;
        long count = 0, correct = 0, exact = 0, distance = 0;
        var examples = 0;
        var gold = new List<long>();
        var predicted = new List<long>();
        foreach (var batch in batches)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var shard = TaskShard.From(batch);
            BatchResult r;
            if (model is AcceptorModel acceptor)
            {
                var predictions = new long[batch.Count];
                r = acceptor.Classify(shard.Source, shard.Targets, train: false, backward: false, predictions);
                gold.AddRange(shard.Targets);
                predicted.AddRange(predictions);
            }
            else
            {
                r = shard.Compute(model, train: false, backward: false);
            }

            if (model is Seq2SeqModel seq2seq)
            {
                var decoded = seq2seq.Decode(shard.Source, DecodeOptions(batch.SourceLength, beamWidth));
                for (var row = 0; row < batch.Count; row++)
                {
                    var reference = Reference(shard, row);
                    var output = WithoutEnd(decoded.Sequences[row]);
                    exact += output.SequenceEqual(reference) ? 1 : 0;
                    distance += TaskMetrics.EditDistance(output, reference);
                }
            }

            examples += batch.Count;
            loss += r.LossSum;
            count += r.Count;
            correct += r.Correct;
        }

        var scores = model switch
        {
            AcceptorModel => new TaskScores(examples, TaskMetrics.MacroF1(gold, predicted), null, null),
            Seq2SeqModel => new TaskScores(examples, null, examples == 0 ? double.NaN : (double)exact / examples, examples == 0 ? double.NaN : (double)distance / examples),
            _ => new TaskScores(examples, null, null, null),
        };
        return new EvaluationResult(loss, count, correct) { Scores = scores };
    }

    /// <summary>Decoding of sources up to <paramref name="sourceLength"/> tokens: outputs may be up to twice as long, plus &lt;eos&gt;.</summary>
    public static DecodeOptions DecodeOptions(int sourceLength, int beamWidth) =>
        new(TaskVocabulary.BeginId, TaskVocabulary.EndId, (2 * sourceLength) + 2) { BeamWidth = beamWidth };

    /// <summary>A decoded output without its final &lt;eos&gt;.</summary>
    public static long[] WithoutEnd(long[] decoded)
    {
        ArgumentNullException.ThrowIfNull(decoded);
        return decoded.Length > 0 && decoded[^1] == TaskVocabulary.EndId ? decoded[..^1] : decoded;
    }

    // Row's target ids without <eos>, from the time-major decoder targets.
    private static long[] Reference(TaskShard shard, int row)
    {
        var rows = shard.Rows;
        var ids = new List<long>(shard.TargetSteps);
        for (var t = 0; t < shard.TargetSteps; t++)
        {
            var id = shard.Targets[(t * rows) + row];
            if (id == SequenceBatch.Ignored || id == TaskVocabulary.EndId)
            {
                break;
            }

            ids.Add(id);
        }

        return [.. ids];
    }
}
