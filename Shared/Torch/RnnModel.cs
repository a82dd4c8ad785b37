using RnnCluster.Model;

namespace RnnCluster.Torch;

/// <summary>
/// A recurrent language model held by libtorch: embedding, stacked recurrent layers, linear decoder,
/// trained over TBPTT windows with recurrent state carried by the caller. The flat parameter and
/// gradient buffers, their layout and the generator are <see cref="TorchModel"/>'s.
/// Not thread-safe: one caller at a time (a worker actor owns its replica).
/// </summary>
public sealed unsafe class RnnModel : TorchModel
{
    public RnnModel(ModelOptions options)
        : base(options)
    {
        Options = options;
        NativeCheck.Status(NativeMethods.rnn_model_state_size(Handle, out var stateSize));
        StateSizePerStream = checked((int)stateSize);
    }

    public ModelOptions Options { get; }

    public ModelArchitecture Architecture => Options.Architecture;

    /// <summary>Elements of recurrent state per stream: (2 for LSTM, else 1) × layers × hidden size.</summary>
    public int StateSizePerStream { get; }

    /// <summary>
    /// Forward (and, when <paramref name="backward"/>, backward) over one time-major window
    /// <c>[steps, streams]</c>. Gradients of the loss SUM are added to the gradient buffer.
    /// An empty <paramref name="stateIn"/> starts every stream from zeros.
    /// </summary>
    public WindowResult ForwardBackward<T>(
        ReadOnlySpan<long> inputs,
        ReadOnlySpan<long> targets,
        int steps,
        int streams,
        ReadOnlySpan<T> stateIn,
        Span<T> stateOut,
        bool train,
        bool backward,
        bool wantCorrect = false)
        where T : unmanaged
    {
        CheckElement<T>();
        CheckWindow(inputs.Length, steps, streams, "inputs");
        CheckWindow(targets.Length, steps, streams, "targets");
        CheckState(stateIn.Length, streams, allowEmpty: true, "stateIn");
        CheckState(stateOut.Length, streams, allowEmpty: true, "stateOut");
        NativeWindowResult result;
        fixed (long* pIn = inputs)
        fixed (long* pTg = targets)
        fixed (T* pSi = stateIn)
        fixed (T* pSo = stateOut)
        {
            NativeCheck.Status(NativeMethods.rnn_model_forward_backward(
                Handle, pIn, pTg, steps, streams, stateIn.IsEmpty ? null : pSi, stateOut.IsEmpty ? null : pSo,
                train ? 1 : 0, backward ? 1 : 0, wantCorrect ? 1 : 0, &result));
        }

        return new WindowResult(result.LossSum, result.Tokens, result.Correct);
    }

    /// <summary>Logits <c>[streams, vocab]</c> of the last step of a window (no dropout), for sampling and beam search.</summary>
    public void LastLogits<T>(ReadOnlySpan<long> inputs, int steps, int streams, ReadOnlySpan<T> stateIn, Span<T> stateOut, Span<T> logits)
        where T : unmanaged
    {
        CheckElement<T>();
        CheckWindow(inputs.Length, steps, streams, "inputs");
        CheckState(stateIn.Length, streams, allowEmpty: true, "stateIn");
        CheckState(stateOut.Length, streams, allowEmpty: true, "stateOut");
        if (logits.Length != (long)streams * Architecture.VocabularySize)
        {
            throw new ArgumentException($"logits needs {streams} x {Architecture.VocabularySize} elements, got {logits.Length}", nameof(logits));
        }

        fixed (long* pIn = inputs)
        fixed (T* pSi = stateIn)
        fixed (T* pSo = stateOut)
        fixed (T* pL = logits)
        {
            NativeCheck.Status(NativeMethods.rnn_model_last_logits(
                Handle, pIn, steps, streams, stateIn.IsEmpty ? null : pSi, stateOut.IsEmpty ? null : pSo, pL));
        }
    }

    private static void CheckWindow(int length, int steps, int streams, string name)
    {
        if (steps < 1 || streams < 1 || length != (long)steps * streams)
        {
            throw new ArgumentException($"{name} must hold steps x streams = {steps} x {streams} ids, got {length}", name);
        }
    }

    private void CheckState(int length, int streams, bool allowEmpty, string name)
    {
        if (allowEmpty && length == 0)
        {
            return;
        }

        if (length != (long)streams * StateSizePerStream)
        {
            throw new ArgumentException($"{name} must hold streams x {StateSizePerStream} elements, got {length}", name);
        }
    }
}
