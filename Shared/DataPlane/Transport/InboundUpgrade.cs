using System.Net.WebSockets;

namespace RnnCluster.DataPlane.Transport;

/// <summary>
/// One inbound connection whose HTTP head has been read (after TLS, when on): what the handler of
/// <see cref="WebSocketHost"/> decides on. It either accepts the upgrade, getting the WebSocket, or
/// refuses with a status; the host closes the connection when the handler returns.
/// </summary>
internal sealed class InboundUpgrade
{
    private readonly Stream _stream;
    private readonly HttpHead _head;
    private readonly CancellationToken _handshake;

    internal InboundUpgrade(Stream stream, HttpHead head, string remote, CancellationToken handshake)
    {
        _stream = stream;
        _head = head;
        _handshake = handshake;
        Remote = remote;
        var parts = head.StartLine.Split(' ');
        Path = parts.Length == 3 ? parts[1].Split('?')[0] : "";
        IsWebSocketRequest = parts.Length == 3 && parts[0] == "GET" && parts[2] == "HTTP/1.1"
            && head.Lists("Upgrade", "websocket") && head.Lists("Connection", "Upgrade")
            && head["Sec-WebSocket-Version"] == "13" && HttpUpgrade.IsValidKey(head["Sec-WebSocket-Key"]);
    }

    /// <summary>The request's path, without a query.</summary>
    public string Path { get; }

    /// <summary>The dialer's address and port.</summary>
    public string Remote { get; }

    /// <summary>A well-formed WebSocket upgrade (GET, HTTP/1.1, the upgrade fields, version 13, a valid key).</summary>
    public bool IsWebSocketRequest { get; }

    /// <summary>Answers 101 and returns the WebSocket over the connection (the listener's side: it does not mask).</summary>
    public async Task<WebSocket> AcceptAsync()
    {
        if (!IsWebSocketRequest)
        {
            throw new InvalidOperationException("Not a WebSocket upgrade request.");
        }

        await _stream.WriteAsync(HttpUpgrade.SwitchingProtocols(_head["Sec-WebSocket-Key"]!), _handshake).ConfigureAwait(false);
        await _stream.FlushAsync(_handshake).ConfigureAwait(false);
        return WebSocket.CreateFromStream(_stream, new WebSocketCreationOptions { IsServer = true, KeepAliveInterval = TimeSpan.Zero });
    }

    /// <summary>Answers <paramref name="status"/> with no body; the connection closes when the handler returns.</summary>
    public Task RefuseAsync(int status, string reason) => HttpUpgrade.RefuseAsync(_stream, status, reason, _handshake);
}
