using System.Globalization;
using System.Text.Json;
using RnnCluster.Model;
using RnnCluster.Model.Checkpoints;
using RnnCluster.Tests.Support;
using RnnCluster.Tests.Torch.Tasks;
using RnnCluster.Torch;

namespace RnnCluster.Tests.Interop;

/// <summary>
/// Our task models' exported parameters load by name into the PyTorch reference modules of
/// bench/tasks/pytorch_tasks.py (load_state_dict strict, same tensor order), and those modules give the
/// same loss sum (1e-5 relative, float32), counts and gradients, and for encoder–decoders the same
/// greedy output. The batches are padded one row beyond their longest sequence.
/// </summary>
public sealed class TaskPyTorchCompatibilityTests
{
    [Theory]
    [MemberData(nameof(TaskModels.EveryPoolingOfBidirectionalLstmAndGru), MemberType = typeof(TaskModels))]
    public async Task A_bidirectional_acceptor_matches_the_pytorch_reference(CellKind cell, Pooling pooling)
    {
        using var model = new AcceptorModel(TaskModels.Acceptor(cell, bidirectional: true, pooling, Precision.Float32));
        var batch = PaddedBatch.FromSequences(TaskModels.Sentences(), steps: 6);
        long[] labels = TaskModels.Labels();
        model.ZeroGradients();
        var ours = model.Classify(batch, labels, train: false, backward: true);

        var head = model.Options.Head;
        var theirs = await RunReferenceAsync(model, Case("acceptor", model.Options.Encoder, batch, new()
        {
            ["pooling"] = PoolingName(pooling),
            ["classes"] = model.Options.Classes,
            ["head_hidden"] = head.HiddenSize,
            ["head_activation"] = head.Activation == HeadActivation.Relu ? "relu" : "tanh",
            ["labels"] = labels,
        }));
        AssertSameResult(model, ours, theirs);
    }

    [Theory]
    [InlineData(CellKind.Lstm, true)]
    [InlineData(CellKind.Gru, false)]
    public async Task A_transducer_matches_the_pytorch_reference(CellKind cell, bool bidirectional)
    {
        using var model = new TransducerModel(TaskModels.Transducer(cell, bidirectional, Precision.Float32));
        var batch = PaddedBatch.FromSequences(TaskModels.Sentences(), steps: 6);
        var tags = PaddedBatch.TimeMajor(TaskModels.Tags(), batch.Steps);
        model.ZeroGradients();
        var ours = model.Tag(batch, tags, train: false, backward: true);

        var head = model.Options.Head;
        var theirs = await RunReferenceAsync(model, Case("transducer", model.Options.Encoder, batch, new()
        {
            ["classes"] = model.Options.Tags,
            ["head_hidden"] = head.HiddenSize,
            ["head_activation"] = head.Activation == HeadActivation.Relu ? "relu" : "tanh",
            ["tags"] = tags,
        }));
        AssertSameResult(model, ours, theirs);
    }

    [Theory]
    [InlineData(CellKind.Lstm, false)]
    [InlineData(CellKind.Lstm, true)]
    [InlineData(CellKind.Gru, true)]
    public async Task An_encoder_decoder_matches_the_pytorch_reference(CellKind cell, bool bidirectional)
    {
        using var model = new Seq2SeqModel(TaskModels.Seq2Seq(cell, bidirectional, Precision.Float32));
        var source = PaddedBatch.FromSequences(TaskModels.Sentences(), steps: 6);
        var target = DecoderBatch.TeacherForcing(TaskModels.Targets(), TaskModels.Bos, TaskModels.Eos);
        model.ZeroGradients();
        var ours = model.ForwardBackward(source, target, train: false, backward: true);
        const int maxLength = 6;
        var greedy = model.Decode(source, new DecodeOptions(TaskModels.Bos, TaskModels.Eos, maxLength));

        var theirs = await RunReferenceAsync(model, Case("seq2seq", model.Options.Encoder, source, new()
        {
            ["target_vocabulary"] = model.Options.TargetVocabularySize,
            ["decoder_embedding"] = model.Options.DecoderEmbeddingSize,
            ["target_steps"] = target.Steps,
            ["decoder_inputs"] = target.Inputs.ToArray(),
            ["decoder_targets"] = target.Targets.ToArray(),
            ["bos"] = TaskModels.Bos,
            ["eos"] = TaskModels.Eos,
            ["max_length"] = maxLength,
        }));
        AssertSameResult(model, ours, theirs);
        var reference = theirs.RootElement.GetProperty("greedy").EnumerateArray()
            .Select(s => s.EnumerateArray().Select(t => t.GetInt64()).ToArray())
            .ToArray();
        Assert.Equal(reference, greedy.Sequences);
    }

    private static Dictionary<string, object> Case(string kind, EncoderArchitecture encoder, PaddedBatch batch, Dictionary<string, object> fields)
    {
        fields["kind"] = kind;
        fields["cell"] = CellNames.ToConfigName(encoder.Cell);
        fields["layers"] = encoder.Layers;
        fields["vocabulary"] = encoder.VocabularySize;
        fields["embedding"] = encoder.EmbeddingSize;
        fields["hidden"] = encoder.HiddenSize;
        fields["bidirectional"] = encoder.Bidirectional;
        fields["steps"] = batch.Steps;
        fields["tokens"] = batch.Tokens.ToArray();
        fields["lengths"] = batch.Lengths.ToArray();
        return fields;
    }

    private static string PoolingName(Pooling pooling) => pooling switch
    {
        Pooling.Last => "last",
        Pooling.Mean => "mean",
        Pooling.Max => "max",
        _ => "attention",
    };

    private static async Task<JsonDocument> RunReferenceAsync(TorchModel model, Dictionary<string, object> testCase)
    {
        using var dir = new TempDirectory();
        await SafeTensors.WriteAsync(dir.Combine("model.safetensors"), model.ExportParameters(), null, CancellationToken.None);
        dir.Write("case.json", JsonSerializer.Serialize(testCase));
        var script = Path.Combine(RepositoryRoot.Path, "bench", "tasks", "pytorch_tasks.py");
        var (exit, output, error) = await PythonRunner.RunAsync(script, dir.Path);
        Assert.True(exit == 0, $"pytorch_tasks.py exited {exit}: {error}{output}");
        return JsonDocument.Parse(output);
    }

    private static void AssertSameResult(TorchModel model, BatchResult ours, JsonDocument theirs)
    {
        var root = theirs.RootElement;
        Assert.Equal(ours.Count, root.GetProperty("count").GetInt64());
        Assert.Equal(ours.Correct, root.GetProperty("correct").GetInt64());
        var loss = root.GetProperty("loss").GetDouble();
        Assert.True(
            Math.Abs(ours.LossSum - loss) <= 1e-5 * Math.Abs(loss),
            string.Create(CultureInfo.InvariantCulture, $"rnncluster {ours.LossSum:R} vs pytorch {loss:R}"));

        // The same gradient of the loss sum, tensor by tensor: the names mean the same things on both sides.
        var gradient = new float[model.ParameterCount];
        model.ReadGradients<float>(gradient);
        var reference = root.GetProperty("gradients");
        foreach (var slice in model.Layout)
        {
            var values = reference.GetProperty(slice.Name).EnumerateArray().Select(v => v.GetDouble()).ToArray();
            Assert.Equal(slice.Count, values.Length);
            for (var k = 0; k < values.Length; k++)
            {
                var a = gradient[slice.Offset + k];
                Assert.True(
                    Math.Abs(a - values[k]) <= 1e-4 * Math.Max(1.0, Math.Abs(values[k])),
                    string.Create(CultureInfo.InvariantCulture, $"{slice.Name}[{k}]: rnncluster {a:R} vs pytorch {values[k]:R}"));
            }
        }
    }
}
