using RnnCluster.Data.Tasks;
using RnnCluster.Torch;

namespace RnnCluster.Training.Tasks;

/// <summary>
/// A worker's rows of a task batch in the models' layout: time-major padded sources <c>[SourceSteps, Rows]</c>
/// with their lengths, and the targets of the kind — labels <c>[Rows]</c> (acceptor), tags
/// <c>[SourceSteps, Rows]</c> (transducer), or teacher-forced decoder inputs and targets
/// <c>[TargetSteps, Rows]</c> (encoder–decoder). The arrays are shared, never written after construction.
/// </summary>
public sealed record TaskShard(int SourceSteps, long[] Sources, int[] Lengths, int TargetSteps, long[] Targets, long[] DecoderInputs)
{
    public int Rows => Lengths.Length;

    public static TaskShard From(SequenceBatch batch)
    {
        ArgumentNullException.ThrowIfNull(batch);
        var lengths = Array.ConvertAll(batch.SourceLengths, l => (int)l);
        return batch.Kind switch
        {
            TaskKind.Acceptor => new TaskShard(batch.SourceLength, batch.Sources, lengths, 0, batch.Labels, []),
            TaskKind.Transducer => new TaskShard(batch.SourceLength, batch.Sources, lengths, batch.SourceLength, batch.Tags, []),
            _ => new TaskShard(batch.SourceLength, batch.Sources, lengths, batch.TargetLength, batch.DecoderTargets, batch.DecoderInputs),
        };
    }

    public PaddedBatch Source => new(Sources, Lengths, SourceSteps);

    /// <summary>
    /// Loss sum, counted targets and correct argmax predictions of this shard under <paramref name="model"/>;
    /// with <paramref name="backward"/>, the gradient of the loss SUM is added to the model's gradient buffer.
    /// </summary>
    public BatchResult Compute(TorchModel model, bool train, bool backward)
    {
        ArgumentNullException.ThrowIfNull(model);
        return model switch
        {
            AcceptorModel acceptor => acceptor.Classify(Source, Targets, train, backward),
            TransducerModel transducer => transducer.Tag(Source, Targets, train, backward),
            Seq2SeqModel seq2seq => seq2seq.ForwardBackward(Source, new DecoderBatch(DecoderInputs, Targets, TargetSteps), train, backward),
            _ => throw new ArgumentException($"a {model.GetType().Name} cannot compute a task batch", nameof(model)),
        };
    }
}
