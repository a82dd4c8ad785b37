using Microsoft.Extensions.Logging;

namespace RnnCluster.Tests.Remote.Transport;

/// <summary>Keeps every log entry and lets a test await one by event id (never by sleeping).</summary>
internal sealed class LogCollector : ILoggerProvider
{
    private readonly List<(int EventId, string Message)> _entries = [];
    private readonly List<(Func<int, string, bool> Match, TaskCompletionSource Done)> _waiters = [];
    private readonly Lock _gate = new();

    public ILogger CreateLogger(string categoryName) => new Logger(this);

    public void Dispose()
    {
    }

    public int Count(int eventId)
    {
        lock (_gate)
        {
            return _entries.Count(e => e.EventId == eventId);
        }
    }

    public async Task WaitForAsync(int eventId, string contains = "", TimeSpan? timeout = null)
    {
        bool Match(int id, string message) => id == eventId && message.Contains(contains, StringComparison.Ordinal);
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_gate)
        {
            if (_entries.Any(e => Match(e.EventId, e.Message)))
            {
                return;
            }

            _waiters.Add((Match, done));
        }

        try
        {
            await done.Task.WaitAsync(timeout ?? TransportFixture.WaitLimit);
        }
        catch (TimeoutException)
        {
            string seen;
            lock (_gate)
            {
                seen = string.Join("\n", _entries.Select(e => $"{e.EventId}: {e.Message}"));
            }

            throw new TimeoutException($"No log event {eventId} containing '{contains}'. Seen:\n{seen}");
        }
    }

    private void Add(int eventId, string message)
    {
        lock (_gate)
        {
            _entries.Add((eventId, message));
            for (var i = _waiters.Count - 1; i >= 0; i--)
            {
                if (_waiters[i].Match(eventId, message))
                {
                    _waiters[i].Done.TrySetResult();
                    _waiters.RemoveAt(i);
                }
            }
        }
    }

    private sealed class Logger(LogCollector owner) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
            => owner.Add(eventId.Id, formatter(state, exception));
    }
}
