namespace RnnCluster.DataPlane.Transport;

/// <summary>
/// The current connection to each peer address: at most one per node pair. When both nodes dial each
/// other, each side keeps the connection dialled by the node with the ordinally lower address, so both
/// sides choose the same one without talking. A connection to another incarnation of the peer replaces
/// the current one (its handshake just proved that incarnation alive; the other is a past life). Two connections in the same direction to the same incarnation mean the peer
/// redialled, so the older one is half-open: the newer wins.
/// Thread-safe (one lock; nothing slow runs under it).
/// </summary>
internal sealed class ConnectionTable(string localAddress)
{
    private readonly Dictionary<string, PeerConnection> _byAddress = new(StringComparer.Ordinal);
    private readonly Lock _gate = new();

    public bool TryGet(string address, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out PeerConnection? connection)
    {
        lock (_gate)
        {
            return _byAddress.TryGetValue(address, out connection);
        }
    }

    public IReadOnlyList<PeerConnection> Snapshot()
    {
        lock (_gate)
        {
            return [.. _byAddress.Values];
        }
    }

    /// <summary>
    /// Makes <paramref name="candidate"/> current unless the current one wins; returns whether it did, and
    /// the connection it displaced (which the caller closes).
    /// </summary>
    public bool TryAdd(PeerConnection candidate, out PeerConnection? displaced)
    {
        displaced = null;
        lock (_gate)
        {
            if (_byAddress.TryGetValue(candidate.Peer.Address, out var current) && !Wins(candidate, current))
            {
                return false;
            }

            displaced = current;
            _byAddress[candidate.Peer.Address] = candidate;
            return true;
        }
    }

    /// <summary>Removes <paramref name="connection"/> if it is still current; false when another replaced it.</summary>
    public bool Remove(PeerConnection connection)
    {
        lock (_gate)
        {
            if (!_byAddress.TryGetValue(connection.Peer.Address, out var current) || !ReferenceEquals(current, connection))
            {
                return false;
            }

            _byAddress.Remove(connection.Peer.Address);
            return true;
        }
    }

    /// <summary>The address of the node that dialled <paramref name="connection"/>.</summary>
    public string Dialler(PeerConnection connection) => connection.Outbound ? localAddress : connection.Peer.Address;

    private bool Wins(PeerConnection candidate, PeerConnection current)
    {
        if (current.IsClosing || candidate.Peer.Incarnation != current.Peer.Incarnation || candidate.Outbound == current.Outbound)
        {
            return true;
        }

        var lowerDials = string.CompareOrdinal(localAddress, candidate.Peer.Address) < 0 ? localAddress : candidate.Peer.Address;
        return string.Equals(Dialler(candidate), lowerDials, StringComparison.Ordinal);
    }
}
