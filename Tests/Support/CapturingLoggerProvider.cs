using Microsoft.Extensions.Logging;

namespace RnnCluster.Tests.Support;

/// <summary>One captured log line.</summary>
public sealed record CapturedLog(string Category, LogLevel Level, EventId EventId, string Message, Exception? Exception);

/// <summary>
/// Keeps every log line in memory so tests can assert that something was logged, or await a log
/// event (with a timeout, never by sleeping).
/// </summary>
public sealed class CapturingLoggerProvider : ILoggerProvider
{
    private readonly List<CapturedLog> _entries = [];
    private readonly List<(Func<CapturedLog, bool> Match, TaskCompletionSource Done)> _waiters = [];
    private readonly Lock _gate = new();

    public IReadOnlyList<CapturedLog> Entries
    {
        get
        {
            lock (_gate)
            {
                return [.. _entries];
            }
        }
    }

    public ILogger CreateLogger(string categoryName) => new CapturingLogger(this, categoryName);

    /// <summary>How many lines with this event id were logged so far.</summary>
    public int Count(int eventId) => Entries.Count(e => e.EventId.Id == eventId);

    /// <summary>
    /// Completes when a line with <paramref name="eventId"/> whose message contains
    /// <paramref name="contains"/> has been logged (also before the call); fails after the timeout
    /// (default <see cref="TestKitSettings.DefaultTimeout"/>) listing what was logged.
    /// </summary>
    public async Task WaitForAsync(int eventId, string contains = "", TimeSpan? timeout = null)
    {
        bool Match(CapturedLog e) => e.EventId.Id == eventId && e.Message.Contains(contains, StringComparison.Ordinal);
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_gate)
        {
            if (_entries.Any(Match))
            {
                return;
            }

            _waiters.Add((Match, done));
        }

        try
        {
            await done.Task.WaitAsync(timeout ?? TestKitSettings.DefaultTimeout).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            var seen = string.Join("\n", Entries.Select(e => $"{e.EventId.Id}: {e.Message}"));
            throw new TestKitAssertionException($"No log event {eventId} containing '{contains}'. Logged:\n{seen}");
        }
    }

    public void Dispose()
    {
    }

    private void Add(CapturedLog entry)
    {
        lock (_gate)
        {
            _entries.Add(entry);
            for (var i = _waiters.Count - 1; i >= 0; i--)
            {
                if (_waiters[i].Match(entry))
                {
                    _waiters[i].Done.TrySetResult();
                    _waiters.RemoveAt(i);
                }
            }
        }
    }

    private sealed class CapturingLogger(CapturingLoggerProvider owner, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel != LogLevel.None;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            ArgumentNullException.ThrowIfNull(formatter);
            owner.Add(new CapturedLog(category, logLevel, eventId, formatter(state, exception), exception));
        }
    }
}
