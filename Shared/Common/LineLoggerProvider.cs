using System.Globalization;
using Microsoft.Extensions.Logging;

namespace RnnCluster.Common;

/// <summary>
/// Writes log events as single lines ("warning: …", "info: …") to a text stream, for the command-line
/// programs: one line per event is what a person reads on a terminal and what a supervisor (systemd,
/// Kubernetes) collects. Information lines carry a UTC time, since cluster events are read as a timeline.
/// </summary>
public sealed class LineLoggerProvider(TextWriter output, LogLevel minimum, TimeProvider? time = null) : ILoggerProvider
{
    private readonly TimeProvider _time = time ?? TimeProvider.System;

    public ILogger CreateLogger(string categoryName) => new Logger(output, minimum, _time);

    public void Dispose()
    {
    }

    private sealed class Logger(TextWriter output, LogLevel minimum, TimeProvider time) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= minimum && logLevel != LogLevel.None;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            ArgumentNullException.ThrowIfNull(formatter);
            if (!IsEnabled(logLevel))
            {
                return;
            }

            // The exception's own message is the part a reader needs ("… already exists"); a stack
            // trace is not, on one line.
            var text = formatter(state, exception);
            if (exception is not null && !text.Contains(exception.Message, StringComparison.Ordinal))
            {
                text += $" ({exception.GetType().Name}: {exception.Message})";
            }

            var line = logLevel switch
            {
                >= LogLevel.Error => $"error: {text}",
                LogLevel.Warning => $"warning: {text}",
                _ => $"info: {time.GetUtcNow().ToString("HH:mm:ss.fff", CultureInfo.InvariantCulture)} {text}",
            };
            lock (output)
            {
                output.WriteLine(line);
            }
        }
    }
}
