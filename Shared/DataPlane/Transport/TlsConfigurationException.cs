namespace RnnCluster.DataPlane.Transport;

/// <summary>
/// A certificate, key or CA file of <see cref="TransportTls"/> is missing, unreadable or invalid.
/// Raised by <see cref="Tensors.TensorTransport.StartAsync"/>, naming the file: a node configured for TLS
/// never starts without it.
/// </summary>
public sealed class TlsConfigurationException(string path, string message, Exception? inner = null) : Exception(message, inner)
{
    /// <summary>The file at fault.</summary>
    public string Path { get; } = path;
}
