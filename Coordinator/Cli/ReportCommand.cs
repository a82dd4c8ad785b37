using System.CommandLine;
using System.Globalization;
using RnnCluster.Coordinator.Reports;

namespace RnnCluster.Coordinator.Cli;

/// <summary>
/// <c>rnncluster report RUN_DIR [RUN_DIR…]</c>: charts of a run's curves (PNG and SVG) and an HTML page
/// of its figures, in RUN_DIR/report; given several runs, one chart per curve with every run on it and
/// a table side by side, in --out (default ./report-compare).
/// </summary>
internal static class ReportCommand
{
    /// <summary>Where a single run's report goes, inside its run directory.</summary>
    public const string RunReportFolder = "report";

    /// <summary>Where a comparison goes without --out: beside the caller, not inside any one of the runs it compares.</summary>
    public const string ComparisonFolder = "report-compare";

    public static Command Create(CliConsole console)
    {
        var runs = new Argument<string[]>("RUN_DIR") { Description = "run directories (each holds metrics.jsonl; summary.json once finished)", Arity = ArgumentArity.OneOrMore };
        var output = new Option<string?>("--out") { Description = $"output directory; default: RUN_DIR/{RunReportFolder} for one run, ./{ComparisonFolder} for several" };
        var logY = new Option<bool>("--log-y") { Description = "draw loss on a logarithmic axis" };
        var width = new Option<int>("--width") { Description = "chart width in pixels", DefaultValueFactory = _ => 900 };
        var height = new Option<int>("--height") { Description = "chart height in pixels", DefaultValueFactory = _ => 500 };
        var command = new Command("report", "Chart a run's loss, learning rate, tokens/s and gradient norm (PNG and SVG) with an HTML summary; several runs: compare them on shared charts.")
        {
            runs, output, logY, width, height,
        };
        command.SetAction(async (parse, ct) =>
        {
            var (w, h) = (parse.GetValue(width), parse.GetValue(height));
            if (w is < 200 or > 8000 || h is < 150 or > 8000)
            {
                throw new CliUsageException($"--width must be 200..8000 and --height 150..8000 pixels, got {w}x{h}");
            }

            var directories = parse.GetValue(runs)!;
            var read = RunDirectoryReader.ReadAll(directories);
            ct.ThrowIfCancellationRequested();
            var renderer = new ChartRenderer(w, h);
            if (!renderer.HasFonts)
            {
                await console.Error.WriteLineAsync("warning: no fonts found under /usr/share/fonts: the charts will have no text (install Debian's fonts-dejavu-core)").ConfigureAwait(false);
            }

            var writer = new ReportWriter(renderer, parse.GetValue(logY));
            var target = parse.GetValue(output);
            var written = read.Count == 1
                ? writer.WriteRun(read[0], target ?? Path.Combine(read[0].Directory, RunReportFolder))
                : writer.WriteComparison(read, target ?? Path.GetFullPath(ComparisonFolder));
            var what = read.Count == 1 ? $"run {read[0].Label}" : $"{read.Count} runs compared";
            await console.Out.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"report: {written[^1]} ({what}; {written.Count - 1} chart files, PNG and SVG)")).ConfigureAwait(false);
            return CliApp.ExitOk;
        });
        return command;
    }
}
