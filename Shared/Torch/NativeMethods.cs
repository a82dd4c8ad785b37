using System.Runtime.InteropServices;

namespace RnnCluster.Torch;

/// <summary>P/Invoke declarations of the C ABI in Shared/Native/include/rnn_bridge.h. Nothing else calls the bridge.</summary>
internal static unsafe partial class NativeMethods
{
    private const string Library = "rnn_bridge";

    /// <summary>The ABI version this assembly was written against; a different bridge is refused at load.</summary>
    internal const int ExpectedAbiVersion = 5;

    [LibraryImport(Library)]
    internal static partial IntPtr rnn_last_error();

    [LibraryImport(Library)]
    internal static partial int rnn_abi_version();

    [LibraryImport(Library)]
    internal static partial int rnn_build_info(byte* buffer, int capacity, out int length);

    [LibraryImport(Library)]
    internal static partial int rnn_set_num_threads(int threads, int blasThreads);

    [LibraryImport(Library)]
    internal static partial int rnn_get_num_threads(out int threads);

    [LibraryImport(Library)]
    internal static partial int rnn_cuda_device_count(out int count);

    [LibraryImport(Library)]
    internal static partial int rnn_model_create(NativeModelConfig* config, out ModelHandle model);

    [LibraryImport(Library)]
    internal static partial void rnn_model_destroy(IntPtr model);

    [LibraryImport(Library)]
    internal static partial int rnn_model_param_count(ModelHandle model, out long count);

    [LibraryImport(Library)]
    internal static partial int rnn_model_tensor_count(ModelHandle model, out int count);

    [LibraryImport(Library)]
    internal static partial int rnn_model_tensor_info(ModelHandle model, int index, byte* name, int nameCapacity, out long offset, out long numel, out int ndim, long* shape4);

    [LibraryImport(Library)]
    internal static partial int rnn_model_state_size(ModelHandle model, out long floatsPerStream);

    [LibraryImport(Library)]
    internal static partial int rnn_model_forward_backward(ModelHandle model, long* inputs, long* targets, int steps, int streams, void* stateIn, void* stateOut, int train, int backward, int wantCorrect, NativeWindowResult* result);

    [LibraryImport(Library)]
    internal static partial int rnn_model_last_logits(ModelHandle model, long* inputs, int steps, int streams, void* stateIn, void* stateOut, void* logitsOut);

    [LibraryImport(Library)]
    internal static partial int rnn_model_classify(ModelHandle model, long* tokens, int* lengths, int steps, int batch, long* labels, int train, int backward, long* predictions, void* logits, NativeWindowResult* result);

    [LibraryImport(Library)]
    internal static partial int rnn_model_tag(ModelHandle model, long* tokens, int* lengths, int steps, int batch, long* tags, int train, int backward, long* predictions, NativeWindowResult* result);

    [LibraryImport(Library)]
    internal static partial int rnn_model_seq2seq(ModelHandle model, long* source, int* sourceLengths, int sourceSteps, int batch, long* decoderInputs, long* decoderTargets, int targetSteps, int train, int backward, void* logits, NativeWindowResult* result);

    [LibraryImport(Library)]
    internal static partial int rnn_model_decode(ModelHandle model, long* source, int* sourceLengths, int sourceSteps, int batch, long bos, long eos, int maxLength, int beamWidth, long* output, int* outputLengths, double* scores);

    [LibraryImport(Library)]
    internal static partial int rnn_model_read(ModelHandle model, int buffer, void* destination, long count);

    [LibraryImport(Library)]
    internal static partial int rnn_model_write(ModelHandle model, int buffer, void* source, long count);

    [LibraryImport(Library)]
    internal static partial int rnn_model_buffer_pointer(ModelHandle model, int buffer, out IntPtr pointer);

    [LibraryImport(Library)]
    internal static partial int rnn_model_zero_grads(ModelHandle model);

    [LibraryImport(Library)]
    internal static partial int rnn_model_clip_grad_norm(ModelHandle model, double scale, double maxNorm, out double totalNorm);

    [LibraryImport(Library)]
    internal static partial int rnn_model_seed(ModelHandle model, ulong seed);

    [LibraryImport(Library)]
    internal static partial int rnn_model_rng_state_size(ModelHandle model, out long size);

    [LibraryImport(Library)]
    internal static partial int rnn_model_get_rng_state(ModelHandle model, byte* destination, long capacity);

    [LibraryImport(Library)]
    internal static partial int rnn_model_set_rng_state(ModelHandle model, byte* source, long size);

    [LibraryImport(Library)]
    internal static partial int rnn_optimizer_create(ModelHandle model, NativeOptimizerConfig* config, out OptimizerHandle optimizer);

    [LibraryImport(Library)]
    internal static partial void rnn_optimizer_destroy(IntPtr optimizer);

    [LibraryImport(Library)]
    internal static partial int rnn_optimizer_step(OptimizerHandle optimizer, ModelHandle model, double learningRate);

    [LibraryImport(Library)]
    internal static partial int rnn_optimizer_state_count(OptimizerHandle optimizer, out int count);

    [LibraryImport(Library)]
    internal static partial int rnn_optimizer_state_name(OptimizerHandle optimizer, int index, byte* buffer, int capacity);

    [LibraryImport(Library)]
    internal static partial int rnn_optimizer_read_state(OptimizerHandle optimizer, int index, void* destination, long count);

    [LibraryImport(Library)]
    internal static partial int rnn_optimizer_write_state(OptimizerHandle optimizer, int index, void* source, long count);

    [LibraryImport(Library)]
    internal static partial int rnn_optimizer_get_step(OptimizerHandle optimizer, out long step);

    [LibraryImport(Library)]
    internal static partial int rnn_optimizer_set_step(OptimizerHandle optimizer, long step);
}

/// <summary>
/// Mirror of <c>rnn_model_config</c>; field order and sizes must match the C header. <see cref="StructSize"/>
/// lets the bridge refuse a mirror of another layout instead of reading past it.
/// </summary>
[StructLayout(LayoutKind.Sequential)]
internal struct NativeModelConfig
{
    public uint StructSize;
    public int Task;
    public int Cell;
    public int Layers;
    public int VocabSize;
    public int EmbeddingSize;
    public int HiddenSize;
    public int TieWeights;
    public int DType;
    public int DeviceType;
    public int DeviceIndex;
    public int Bidirectional;
    public int Pooling;
    public int HeadHiddenSize;
    public int HeadActivation;
    public int Classes;
    public int TargetVocabSize;
    public int DecoderEmbeddingSize;
    public double DropoutEmbedding;
    public double DropoutBetweenLayers;
    public double DropoutOutput;
    public double ForgetBias;
    public double InitRange;
    public ulong Seed;
}

/// <summary>Mirror of <c>rnn_window_result</c>.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct NativeWindowResult
{
    public double LossSum;
    public long Tokens;
    public long Correct;
}

/// <summary>Mirror of <c>rnn_optimizer_config</c>.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct NativeOptimizerConfig
{
    public int Kind;
    public int Nesterov;
    public double Momentum;
    public double WeightDecay;
    public double Beta1;
    public double Beta2;
    public double Epsilon;
}
