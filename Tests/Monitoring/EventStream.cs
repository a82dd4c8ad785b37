using System.Text;

namespace RnnCluster.Tests.Monitoring;

/// <summary>One server-sent event: its name and its data line.</summary>
internal sealed record ServerSentEvent(string Name, string Data);

/// <summary>Reads <c>/api/events</c> as a browser's EventSource would, one event (or comment) at a time.</summary>
internal sealed class EventStream : IDisposable
{
    private readonly HttpResponseMessage _response;
    private readonly StreamReader _reader;

    private EventStream(HttpResponseMessage response, Stream body)
    {
        _response = response;
        _reader = new StreamReader(body, Encoding.UTF8);
    }

    public string? MediaType => _response.Content.Headers.ContentType?.MediaType;

    public static async Task<EventStream> OpenAsync(HttpClient client, CancellationToken cancellationToken)
    {
        var response = await client.GetAsync(new Uri("/api/events", UriKind.Relative), HttpCompletionOption.ResponseHeadersRead, cancellationToken);
        response.EnsureSuccessStatusCode();
        return new EventStream(response, await response.Content.ReadAsStreamAsync(cancellationToken));
    }

    /// <summary>The next event, skipping comments and the retry field.</summary>
    public async Task<ServerSentEvent> NextAsync(CancellationToken cancellationToken)
    {
        string? name = null;
        var data = new StringBuilder();
        while (true)
        {
            var line = await _reader.ReadLineAsync(cancellationToken) ?? throw new EndOfStreamException("the event stream ended");
            if (line.Length == 0)
            {
                if (name is not null)
                {
                    return new ServerSentEvent(name, data.ToString());
                }

                continue;
            }

            if (line.StartsWith("event: ", StringComparison.Ordinal))
            {
                name = line["event: ".Length..];
            }
            else if (line.StartsWith("data: ", StringComparison.Ordinal))
            {
                data.Append(line["data: ".Length..]);
            }
        }
    }

    /// <summary>The next comment line (": ..."), skipping anything else.</summary>
    public async Task<string> NextCommentAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            var line = await _reader.ReadLineAsync(cancellationToken) ?? throw new EndOfStreamException("the event stream ended");
            if (line.StartsWith(':'))
            {
                return line;
            }
        }
    }

    public void Dispose()
    {
        _reader.Dispose();
        _response.Dispose();
    }
}
