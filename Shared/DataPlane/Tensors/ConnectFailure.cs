using System.Net;
using System.Net.Sockets;
using System.Security.Authentication;
using RnnCluster.DataPlane.Transport;

namespace RnnCluster.DataPlane.Tensors;

/// <summary>
/// Sorts a failed dial into a <see cref="ConnectionEndReason"/>. The distinction that matters most is
/// "connection refused" (the TCP SYN was answered with a reset: the host is up and nothing listens on
/// the port any more, so the process that did is gone) against "no answer" (the host or the network is
/// down, or slow: nothing is proved about the process).
/// </summary>
internal static class ConnectFailure
{
    /// <param name="status">The HTTP status of the upgrade response, when one came (0 when none did).</param>
    public static ConnectionEnd Classify(Exception error, HttpStatusCode status, string peer)
    {
        var detail = ExceptionText.Describe(error);
        for (var current = (Exception?)error; current is not null; current = current.InnerException)
        {
            switch (current)
            {
                case SocketException { SocketErrorCode: SocketError.ConnectionRefused }:
                    return new ConnectionEnd(ConnectionEndReason.ConnectionRefused, peer, detail);
                case SocketException { SocketErrorCode: SocketError.ConnectionReset or SocketError.ConnectionAborted or SocketError.Shutdown }:
                    return new ConnectionEnd(ConnectionEndReason.ClosedWithoutGoodbye, peer, detail);
                case SocketException:
                    return new ConnectionEnd(ConnectionEndReason.Unreachable, peer, detail);
                case AuthenticationException:
                    return new ConnectionEnd(ConnectionEndReason.HandshakeRefused, peer, $"TLS: {detail}");
                case UpgradeRefusedException { Status: 101 }:
                    return new ConnectionEnd(ConnectionEndReason.HandshakeRefused, peer, $"not a WebSocket listener: {detail}");
            }
        }

        if (status != 0 && status != HttpStatusCode.SwitchingProtocols)
        {
            var meaning = status switch
            {
                HttpStatusCode.NotFound => "no tensor endpoint at that path",
                HttpStatusCode.ServiceUnavailable => "the peer is at its connection limit or stopping",
                _ => "the upgrade to a WebSocket was refused",
            };
            return new ConnectionEnd(ConnectionEndReason.HandshakeRefused, peer, $"the peer answered HTTP {(int)status}: {meaning}");
        }

        // A response cut short or a stream that ended: something answered, then went away.
        return new ConnectionEnd(ConnectionEndReason.ClosedWithoutGoodbye, peer, detail);
    }
}
