using System.Text;

namespace RnnCluster.Coordinator.Reports;

/// <summary>
/// Makes a report: draws every chart and the page in memory, then writes them all at once
/// (<see cref="ReportFiles"/>). One run gets its own charts; several share one chart per curve.
/// </summary>
public sealed class ReportWriter(ChartRenderer renderer, bool logLoss)
{
    public const string PageFile = "report.html";

    private static readonly UTF8Encoding Utf8 = new(encoderShouldEmitUTF8Identifier: false);

    /// <returns>Every file written; report.html last.</returns>
    public IReadOnlyList<string> WriteRun(ReportRun run, string outputDirectory)
    {
        ArgumentNullException.ThrowIfNull(run);
        var charts = ChartCatalog.ForRun(run, logLoss);
        return Write(outputDirectory, charts, ReportHtml.ForRun(run, charts, renderer.Width, renderer.Height));
    }

    public IReadOnlyList<string> WriteComparison(IReadOnlyList<ReportRun> runs, string outputDirectory)
    {
        ArgumentNullException.ThrowIfNull(runs);
        var charts = ChartCatalog.ForComparison(runs, logLoss);
        return Write(outputDirectory, charts, ReportHtml.ForComparison(runs, charts, renderer.Width, renderer.Height));
    }

    private IReadOnlyList<string> Write(string outputDirectory, IReadOnlyList<ChartSpec> charts, string page)
    {
        var files = new List<KeyValuePair<string, byte[]>>();
        foreach (var chart in charts.Select(renderer.Render))
        {
            files.Add(new($"{chart.Spec.FileName}.png", chart.Png));
            files.Add(new($"{chart.Spec.FileName}.svg", Utf8.GetBytes(chart.Svg)));
        }

        files.Add(new(PageFile, Utf8.GetBytes(page)));
        return ReportFiles.WriteAll(outputDirectory, files);
    }
}
