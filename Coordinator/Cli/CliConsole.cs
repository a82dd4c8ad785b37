namespace RnnCluster.Coordinator.Cli;

/// <summary>Where the CLI writes, and whether it may draw a live display (tests pass string writers).</summary>
public sealed record CliConsole(TextWriter Out, TextWriter Error, bool IsInteractive)
{
    public static CliConsole System { get; } = new(
        Console.Out,
        Console.Error,
        !Console.IsOutputRedirected && !string.Equals(Environment.GetEnvironmentVariable("TERM"), "dumb", StringComparison.Ordinal)
            && Environment.GetEnvironmentVariable("CI") is null)
    {
        In = Console.In,
    };

    /// <summary>Where <c>predict</c> reads its inputs when no file is given.</summary>
    public TextReader In { get; init; } = TextReader.Null;
}
