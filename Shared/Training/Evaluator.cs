using RnnCluster.Data;
using RnnCluster.Torch;

namespace RnnCluster.Training;

/// <summary>
/// Evaluates a model over a whole split the way it is trained: batched into streams, in windows, with
/// every stream's state carried from one window to the next (no dropout, no gradients).
/// </summary>
public static class Evaluator
{
    public static EvaluationResult Evaluate(RnnModel model, TokenSplit split, int batchSize, int windowLength, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(split);
        var streams = BatchedStreams.Batchify(split, Math.Max(1, Math.Min(batchSize, split.Length)));
        var b = streams.StreamCount;
        var inputs = new long[windowLength * b];
        var targets = new long[windowLength * b];
        var state = new float[b * model.StateSizePerStream];
        var next = new float[state.Length];
        double loss = 0;
        long tokens = 0, correct = 0;
        for (var start = 0; start < streams.Length; start += windowLength)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var length = Math.Min(windowLength, streams.Length - start);
            var n = length * b;
            streams.CopyWindow(start, length, 0, b, inputs.AsSpan(0, n), targets.AsSpan(0, n));
            var r = model.ForwardBackward<float>(inputs.AsSpan(0, n), targets.AsSpan(0, n), length, b, state, next, train: false, backward: false, wantCorrect: true);
            (state, next) = (next, state);
            loss += r.LossSum;
            tokens += r.Tokens;
            correct += r.Correct;
        }

        return new EvaluationResult(loss, tokens, correct);
    }
}
