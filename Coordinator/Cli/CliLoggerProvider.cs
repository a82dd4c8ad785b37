using Microsoft.Extensions.Logging;

namespace RnnCluster.Coordinator.Cli;

/// <summary>Writes warnings and errors as "warning: …" lines to the CLI's error stream.</summary>
internal sealed class CliLoggerProvider(TextWriter error) : ILoggerProvider
{
    public ILogger CreateLogger(string categoryName) => new Logger(error);

    public void Dispose()
    {
    }

    private sealed class Logger(TextWriter error) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Warning;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            ArgumentNullException.ThrowIfNull(formatter);
            if (!IsEnabled(logLevel))
            {
                return;
            }

            var prefix = logLevel >= LogLevel.Error ? "error" : "warning";
            lock (error)
            {
                error.WriteLine($"{prefix}: {formatter(state, exception)}");
            }
        }
    }
}
