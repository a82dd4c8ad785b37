using System.Runtime.InteropServices;

namespace RnnCluster.Torch;

/// <summary>Status codes of <c>rnn_status</c>.</summary>
public enum NativeStatus
{
    Ok = 0,
    Argument = 1,
    State = 2,
    Device = 3,
    Torch = 4,
    OutOfMemory = 5,
    Unknown = 6,
}

/// <summary>Base of every error reported by the native bridge; <see cref="Status"/> is the bridge's status code.</summary>
public abstract class TorchException : Exception
{
    protected TorchException(NativeStatus status, string message)
        : base(message)
    {
        Status = status;
    }

    public NativeStatus Status { get; }
}

/// <summary>The bridge refused an argument (sizes, ids, configuration).</summary>
public sealed class TorchArgumentException(string message) : TorchException(NativeStatus.Argument, message);

/// <summary>The requested device does not exist in the libtorch the bridge was built against.</summary>
public sealed class TorchDeviceException(string message) : TorchException(NativeStatus.Device, message);

/// <summary>Host or device memory ran out inside libtorch.</summary>
public sealed class TorchOutOfMemoryException(string message) : TorchException(NativeStatus.OutOfMemory, message);

/// <summary>libtorch raised an error, or the object was used in a state that does not allow the call.</summary>
public sealed class TorchRuntimeException(NativeStatus status, string message) : TorchException(status, message);

/// <summary>The native bridge (or libtorch under it) could not be loaded at all.</summary>
public sealed class TorchUnavailableException(string message, Exception? inner) : Exception(message, inner);

internal static class NativeCheck
{
    /// <summary>Turns a bridge status into the matching exception, with the thread's last error message.</summary>
    public static void Status(int status)
    {
        if (status == 0)
        {
            return;
        }

        var message = Marshal.PtrToStringUTF8(NativeMethods.rnn_last_error()) ?? string.Empty;
        if (message.Length == 0)
        {
            message = $"native bridge call failed with status {status}";
        }

        throw (NativeStatus)status switch
        {
            NativeStatus.Argument => new TorchArgumentException(message),
            NativeStatus.Device => new TorchDeviceException(message),
            NativeStatus.OutOfMemory => new TorchOutOfMemoryException(message),
            NativeStatus.State or NativeStatus.Torch or NativeStatus.Unknown => new TorchRuntimeException((NativeStatus)status, message),
            _ => new TorchRuntimeException(NativeStatus.Unknown, $"unknown status {status}: {message}"),
        };
    }
}
