using System.Globalization;
using System.Text;
using RnnCluster.Training;
using static RnnCluster.Coordinator.Reports.HtmlText;

namespace RnnCluster.Coordinator.Reports;

/// <summary>
/// report.html: the run's figures, its charts (by relative path, so the folder can be moved or
/// served as it is), its events and its settings; or, for several runs, one table and the shared charts.
/// Self-contained: no script, no style sheet or font from elsewhere.
/// </summary>
public static class ReportHtml
{
    public static string ForRun(ReportRun run, IReadOnlyList<ChartSpec> charts, int width, int height)
    {
        ArgumentNullException.ThrowIfNull(run);
        ArgumentNullException.ThrowIfNull(charts);
        var html = new StringBuilder(Head($"RnnCluster report: {run.Label}"));
        html.Append(CultureInfo.InvariantCulture, $"<h1>Run {Escape(run.Label)}</h1>\n<p>Directory: <code>{Escape(run.Directory)}</code></p>\n");
        var figures = RunFigures.Of(run);
        if (!figures.FromSummary)
        {
            html.Append("<p class=\"note\">No summary.json: the run has not finished (or was killed). The figures are the last lines of metrics.jsonl.</p>\n");
        }

        html.Append("<h2>Figures</h2>\n<table>\n");
        if (run.Summary is { } s)
        {
            Row(html, "corpus", Escape(s.Corpus));
            Row(html, "task", Escape(s.Task));
        }

        Row(html, "stopped by", Escape(figures.StoppedBy));
        Row(html, "steps", figures.Steps.ToString("N0", CultureInfo.InvariantCulture));
        if (run.Summary is { } summary)
        {
            Row(html, "epochs", summary.Epochs.ToString(CultureInfo.InvariantCulture));
            Row(html, "tokens trained", summary.TokensTrained.ToString("N0", CultureInfo.InvariantCulture));
        }

        NumberRow(html, "final train loss", figures.TrainLoss, "F4");
        NumberRow(html, "valid loss", figures.ValidLoss, "F4");
        NumberRow(html, "valid perplexity", figures.ValidPerplexity, "F2");
        NumberRow(html, "valid bits per token", figures.ValidBitsPerToken, "F3");
        NumberRow(html, "valid accuracy", figures.ValidAccuracy, "P2");
        Scores(html, "valid", run.Summary?.ValidScores);
        NumberRow(html, "test loss", figures.TestLoss, "F4");
        NumberRow(html, "test perplexity", figures.TestPerplexity, "F2");
        NumberRow(html, "test bits per token", figures.TestBitsPerToken, "F3");
        NumberRow(html, "test accuracy", figures.TestAccuracy, "P2");
        Scores(html, "test", run.Summary?.TestScores);
        NumberRow(html, "tokens per second", figures.TokensPerSecond, "N0");
        Row(html, "wall time", Escape(Duration(figures.WallSeconds)));
        if (run.Summary is { } last)
        {
            foreach (var (phase, ms) in last.StepTimeSplit ?? new Dictionary<string, double>())
            {
                NumberRow(html, $"ms per step: {phase}", ms, "F2");
            }

            Row(html, "last checkpoint", last.LastCheckpoint is { } l ? $"<code>{Escape(l)}</code>" : "–");
            Row(html, "best checkpoint", last.BestCheckpoint is { } b ? $"<code>{Escape(b)}</code>" : "–");
        }

        html.Append("</table>\n");
        Charts(html, charts, width, height);
        Events(html, [run]);
        if (run.Settings is { } settings)
        {
            html.Append("<h2>Settings</h2>\n<details open><summary>config.hocon of the newest checkpoint</summary>\n<pre>")
                .Append(Escape(settings)).Append("</pre>\n</details>\n");
        }

        return html.Append(Tail).ToString();
    }

    public static string ForComparison(IReadOnlyList<ReportRun> runs, IReadOnlyList<ChartSpec> charts, int width, int height)
    {
        ArgumentNullException.ThrowIfNull(runs);
        ArgumentNullException.ThrowIfNull(charts);
        var html = new StringBuilder(Head($"RnnCluster comparison: {string.Join(", ", runs.Select(r => r.Label))}"));
        html.Append(CultureInfo.InvariantCulture, $"<h1>Comparison of {runs.Count} runs</h1>\n<table>\n<tr><th>run</th><th>corpus</th><th>steps</th><th>train loss</th><th>valid loss</th><th>valid perplexity</th><th>valid bits per token</th><th>valid accuracy</th><th>test loss</th><th>tokens/s</th><th>wall time</th><th>stopped by</th><th>events</th></tr>\n");
        foreach (var run in runs)
        {
            var f = RunFigures.Of(run);
            html.Append(CultureInfo.InvariantCulture, $"<tr><td title=\"{Escape(run.Directory)}\">{Escape(run.Label)}</td><td>{Escape(run.Summary?.Corpus ?? "–")}</td><td class=\"n\">{f.Steps:N0}</td>")
                .Append(Number(f.TrainLoss, "F4")).Append(Number(f.ValidLoss, "F4")).Append(Number(f.ValidPerplexity, "F2"))
                .Append(Number(f.ValidBitsPerToken, "F3")).Append(Number(f.ValidAccuracy, "P2")).Append(Number(f.TestLoss, "F4"))
                .Append(Number(f.TokensPerSecond, "N0"))
                .Append(CultureInfo.InvariantCulture, $"<td class=\"n\">{Escape(Duration(f.WallSeconds))}</td><td>{Escape(f.StoppedBy)}</td><td class=\"n\">{run.Metrics.Events.Count}</td></tr>\n");
        }

        html.Append("</table>\n<p>Directories:</p>\n<ul>\n");
        foreach (var run in runs)
        {
            html.Append(CultureInfo.InvariantCulture, $"<li>{Escape(run.Label)}: <code>{Escape(run.Directory)}</code></li>\n");
        }

        html.Append("</ul>\n");
        Charts(html, charts, width, height);
        Events(html, runs);
        var configured = runs.Where(r => r.Settings is not null).ToList();
        if (configured.Count > 0)
        {
            html.Append("<h2>Settings</h2>\n");
            foreach (var run in configured)
            {
                html.Append(CultureInfo.InvariantCulture, $"<details><summary>{Escape(run.Label)}: config.hocon of the newest checkpoint</summary>\n<pre>")
                    .Append(Escape(run.Settings!)).Append("</pre>\n</details>\n");
            }
        }

        return html.Append(Tail).ToString();
    }

    private static void Charts(StringBuilder html, IReadOnlyList<ChartSpec> charts, int width, int height)
    {
        foreach (var chart in charts)
        {
            html.Append(CultureInfo.InvariantCulture, $"<h2>{Escape(chart.Title)}</h2>\n");
            if (!chart.HasData)
            {
                html.Append("<p class=\"note\">No data: the metrics hold no finite value for this curve.</p>\n");
            }

            html.Append(CultureInfo.InvariantCulture, $"<p><a href=\"{chart.FileName}.svg\"><img src=\"{chart.FileName}.png\" width=\"{width}\" height=\"{height}\" alt=\"{Escape(chart.Title)}\"></a></p>\n");
        }
    }

    private static void Events(StringBuilder html, IReadOnlyList<ReportRun> runs)
    {
        var events = runs.SelectMany(r => r.Metrics.Events.Select(e => (r.Label, e))).ToList();
        if (events.Count > 0)
        {
            html.Append("<h2>Events</h2>\n<table>\n<tr>").Append(runs.Count > 1 ? "<th>run</th>" : string.Empty).Append("<th>kind</th><th>step</th><th>details</th><th>metrics.jsonl line</th></tr>\n");
            foreach (var (label, e) in events)
            {
                html.Append("<tr>").Append(runs.Count > 1 ? $"<td>{Escape(label)}</td>" : string.Empty)
                    .Append(CultureInfo.InvariantCulture, $"<td>{Escape(e.Kind)}</td><td class=\"n\">{(e.Step is { } step ? step.ToString(CultureInfo.InvariantCulture) : "–")}</td><td>{Escape(e.Details)}</td><td class=\"n\">{e.Line}</td></tr>\n");
            }

            html.Append("</table>\n");
        }

        var ignored = runs.SelectMany(r => r.Metrics.IgnoredKinds).GroupBy(k => k.Key, StringComparer.Ordinal).Select(g => $"{g.Key} ({g.Sum(k => k.Value)})").ToList();
        if (ignored.Count > 0)
        {
            html.Append(CultureInfo.InvariantCulture, $"<p class=\"note\">Lines of kinds this report does not draw: {Escape(string.Join(", ", ignored))}.</p>\n");
        }
    }

    private static void Row(StringBuilder html, string name, string valueHtml) =>
        html.Append(CultureInfo.InvariantCulture, $"<tr><th>{Escape(name)}</th><td>{valueHtml}</td></tr>\n");

    private static void NumberRow(StringBuilder html, string name, double? value, string format)
    {
        if (value is not null)
        {
            html.Append(CultureInfo.InvariantCulture, $"<tr><th>{Escape(name)}</th>{Number(value, format)}</tr>\n");
        }
    }

    private static void Scores(StringBuilder html, string split, IReadOnlyDictionary<string, double>? scores)
    {
        foreach (var (name, value) in scores ?? new Dictionary<string, double>())
        {
            NumberRow(html, $"{split} {name}", value, "F4");
        }
    }
}
