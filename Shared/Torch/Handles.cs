using System.Runtime.InteropServices;

namespace RnnCluster.Torch;

/// <summary>Owns one native model; the finalizer-safe release calls <c>rnn_model_destroy</c> exactly once.</summary>
internal sealed class ModelHandle : SafeHandle
{
    public ModelHandle()
        : base(IntPtr.Zero, ownsHandle: true)
    {
    }

    public override bool IsInvalid => handle == IntPtr.Zero;

    protected override bool ReleaseHandle()
    {
        NativeMethods.rnn_model_destroy(handle);
        return true;
    }
}

/// <summary>Owns one native optimizer.</summary>
internal sealed class OptimizerHandle : SafeHandle
{
    public OptimizerHandle()
        : base(IntPtr.Zero, ownsHandle: true)
    {
    }

    public override bool IsInvalid => handle == IntPtr.Zero;

    protected override bool ReleaseHandle()
    {
        NativeMethods.rnn_optimizer_destroy(handle);
        return true;
    }
}
