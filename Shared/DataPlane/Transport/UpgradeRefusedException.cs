namespace RnnCluster.DataPlane.Transport;

/// <summary>The listener answered a WebSocket upgrade with <see cref="Status"/> instead of 101, or with a wrong accept digest.</summary>
internal sealed class UpgradeRefusedException(int status, string message) : IOException(message)
{
    /// <summary>The HTTP status of the answer (101 when only its accept digest was wrong).</summary>
    public int Status { get; } = status;
}
