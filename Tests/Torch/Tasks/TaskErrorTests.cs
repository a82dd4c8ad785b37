using RnnCluster.Model;
using RnnCluster.Torch;

namespace RnnCluster.Tests.Torch.Tasks;

/// <summary>Bad task inputs are refused with the offending value, before native code reads a buffer or by the bridge, and the model stays usable.</summary>
public sealed class TaskErrorTests
{
    [Fact]
    public void A_token_out_of_range_is_refused_only_where_the_sequence_reads_it()
    {
        using var model = new AcceptorModel(TaskModels.Acceptor(CellKind.Lstm, true, Pooling.Mean, Precision.Float32));
        // [steps 2, batch 2]: sequence 0 = [1, 9], sequence 1 = [2] with padding 99 at row 1.
        var bad = new PaddedBatch([1, 2, 9, 99], [2, 1], 2);
        var e = Assert.Throws<TorchArgumentException>(() => model.Classify(bad, [0, 1], false, false));
        Assert.Contains("token id out of range [0, 6)", e.Message, StringComparison.Ordinal);
        Assert.Contains("max 9", e.Message, StringComparison.Ordinal);

        var padOnly = new PaddedBatch([1, 2, 3, 99], [2, 1], 2);
        Assert.Equal(2, model.Classify(padOnly, [0, 1], false, false).Count);
    }

    [Fact]
    public void A_label_outside_the_classes_is_an_argument_error()
    {
        using var model = new AcceptorModel(TaskModels.Acceptor(CellKind.Gru, false, Pooling.Last, Precision.Float32));
        var batch = PaddedBatch.FromSequences(TaskModels.Sentences());
        var e = Assert.Throws<TorchArgumentException>(() => model.Classify(batch, [0, 3, 1], false, false));
        Assert.Contains("label out of range [-1, 3)", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Wrong_buffer_sizes_are_refused_before_reaching_native_code()
    {
        using var acceptor = new AcceptorModel(TaskModels.Acceptor(CellKind.Lstm, true, Pooling.Max, Precision.Float32));
        var batch = PaddedBatch.FromSequences(TaskModels.Sentences());
        Assert.Contains("labels", Assert.Throws<ArgumentException>(() => acceptor.Classify(batch, [0, 1], false, false)).Message, StringComparison.Ordinal);
        Assert.Contains("labels", Assert.Throws<ArgumentException>(() => acceptor.Classify(batch, [], false, backward: true)).Message, StringComparison.Ordinal);
        Assert.Contains("logits", Assert.Throws<ArgumentException>(() => acceptor.Logits(batch, new float[8])).Message, StringComparison.Ordinal);
        Assert.Contains("Float32", Assert.Throws<ArgumentException>(() => acceptor.Logits(batch, new double[9])).Message, StringComparison.Ordinal);

        using var tagger = new TransducerModel(TaskModels.Transducer(CellKind.Gru, false, Precision.Float32));
        Assert.Contains("tags", Assert.Throws<ArgumentException>(() => tagger.Tag(batch, new long[14], false, false)).Message, StringComparison.Ordinal);

        using var seq2seq = new Seq2SeqModel(TaskModels.Seq2Seq(CellKind.Lstm, false, Precision.Float32));
        var twoTargets = DecoderBatch.TeacherForcing([[2], [3]], TaskModels.Bos, TaskModels.Eos);
        Assert.Contains("3 sequences but target has 2", Assert.Throws<ArgumentException>(() => seq2seq.ForwardBackward(batch, twoTargets, false, false)).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_sequence_must_have_between_one_and_steps_positions()
    {
        var e = Assert.Throws<ArgumentException>(() => PaddedBatch.FromSequences([[1, 2], []]));
        Assert.Contains("lengths[1] = 0 is outside [1, 2]", e.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => new PaddedBatch([1, 2, 3, 4], [2, 3], 2));
    }

    [Fact]
    public void A_counted_decoder_target_after_a_padding_input_is_refused()
    {
        using var model = new Seq2SeqModel(TaskModels.Seq2Seq(CellKind.Gru, true, Precision.Float32));
        var source = PaddedBatch.FromSequences([[1, 2]]);
        var target = new DecoderBatch([TaskModels.Bos, -1, 2], [2, 3, TaskModels.Eos], 3);
        var e = Assert.Throws<TorchArgumentException>(() => model.ForwardBackward(source, target, false, false));
        Assert.Contains("padding (-1) decoder input", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Decoding_refuses_a_bos_or_eos_outside_the_target_vocabulary()
    {
        using var model = new Seq2SeqModel(TaskModels.Seq2Seq(CellKind.Lstm, false, Precision.Float32));
        var source = PaddedBatch.FromSequences([[1, 2]]);
        var e = Assert.Throws<TorchArgumentException>(() => model.Decode(source, new DecodeOptions(0, 5, 4)));
        Assert.Contains("eos 5 must be in [0, 5)", e.Message, StringComparison.Ordinal);
        Assert.Single(model.Decode(source, new DecodeOptions(0, 4, 4)).Sequences);
    }

    [Fact]
    public void A_task_configuration_the_bridge_cannot_build_names_the_field()
    {
        var e = Assert.Throws<TorchArgumentException>(() => new AcceptorModel(TaskModels.Acceptor(CellKind.Lstm, true, Pooling.Last) with { Classes = 1 }));
        Assert.Contains("classes must be >= 2, got 1", e.Message, StringComparison.Ordinal);
        var f = Assert.Throws<TorchArgumentException>(() => new Seq2SeqModel(TaskModels.Seq2Seq(CellKind.Lstm, true) with { DecoderEmbeddingSize = 0 }));
        Assert.Contains("decoder_embedding_size must be >= 1", f.Message, StringComparison.Ordinal);
    }
}
