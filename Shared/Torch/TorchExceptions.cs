namespace RnnCluster.Torch;

/// <summary>What kind of failure a <see cref="TorchException"/> reports.</summary>
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

/// <summary>Base of every error of the compute layer; <see cref="Status"/> says what kind.</summary>
public abstract class TorchException : Exception
{
    protected TorchException(NativeStatus status, string message)
        : base(message)
    {
        Status = status;
    }

    public NativeStatus Status { get; }
}

/// <summary>An argument was refused (sizes, ids, configuration).</summary>
public sealed class TorchArgumentException(string message) : TorchException(NativeStatus.Argument, message);

/// <summary>The requested device does not exist in the loaded libtorch.</summary>
public sealed class TorchDeviceException(string message) : TorchException(NativeStatus.Device, message);

/// <summary>Host or device memory ran out inside libtorch.</summary>
public sealed class TorchOutOfMemoryException(string message) : TorchException(NativeStatus.OutOfMemory, message);

/// <summary>libtorch raised an error, or the object was used in a state that does not allow the call.</summary>
public sealed class TorchRuntimeException(NativeStatus status, string message) : TorchException(status, message);

/// <summary>libtorch (through TorchSharp) could not be loaded at all.</summary>
public sealed class TorchUnavailableException(string message, Exception? inner) : Exception(message, inner);
