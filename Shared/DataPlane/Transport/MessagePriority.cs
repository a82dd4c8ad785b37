namespace RnnCluster.DataPlane.Transport;

/// <summary>Which send lane a message takes on its connection.</summary>
public enum MessagePriority
{
    /// <summary>
    /// Kept in order with every other ordinary message to the same peer (as actor messages between a
    /// pair must be); a large one is chunked and still lets control frames through between its chunks.
    /// </summary>
    Ordinary = 0,

    /// <summary>
    /// Overtakes ordinary messages (also between the chunks of one), like heartbeats do. For small
    /// protocol messages whose latency matters more than their order relative to ordinary traffic.
    /// </summary>
    Control = 1,
}
