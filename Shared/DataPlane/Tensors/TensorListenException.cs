namespace RnnCluster.DataPlane.Tensors;

/// <summary>
/// <see cref="TensorTransport.StartAsync"/> could not listen on <see cref="EndPoint"/>, most often
/// because another process holds the port. The message names the port and, when the options say where
/// it was configured (<see cref="TensorTransportOptions.PortSetting"/>), that setting. An
/// <see cref="IOException"/>, like the bind failure it wraps, so callers that report I/O errors report it.
/// </summary>
public sealed class TensorListenException(DataPlaneEndPoint endPoint, string message, Exception inner) : IOException(message, inner)
{
    public DataPlaneEndPoint EndPoint { get; } = endPoint;
}
