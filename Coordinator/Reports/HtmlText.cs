using System.Globalization;
using System.Net;

namespace RnnCluster.Coordinator.Reports;

/// <summary>
/// The few HTML pieces the report pages share. Every text that comes from a run (its path, its name,
/// its settings, a log line) passes through <see cref="Escape"/>: run directories may be named with
/// &lt; or &amp;.
/// </summary>
internal static class HtmlText
{
    public const string Style = """
        body { font-family: "DejaVu Sans", Arial, sans-serif; margin: 2em auto; max-width: 1000px; color: #222; }
        h1 { font-size: 1.5em; } h2 { font-size: 1.15em; margin-top: 1.6em; }
        table { border-collapse: collapse; margin: 0.5em 0; }
        th, td { border: 1px solid #ccc; padding: 0.25em 0.6em; text-align: left; vertical-align: top; }
        td.n { text-align: right; font-variant-numeric: tabular-nums; }
        th { background: #f2f2f2; }
        img { max-width: 100%; height: auto; border: 1px solid #eee; }
        pre { background: #f7f7f7; padding: 0.8em; overflow-x: auto; }
        .note { color: #8a5300; }
        """;

    public static string Escape(string text) => WebUtility.HtmlEncode(text);

    /// <summary>A numeric cell: the rounded figure shown, the exact one (as summary.json has it) in its tooltip.</summary>
    public static string Number(double? value, string format) => value switch
    {
        null => "<td class=\"n\">–</td>",
        { } v => $"<td class=\"n\" title=\"{Exact(v)}\">{Escape(v.ToString(format, CultureInfo.InvariantCulture))}</td>",
    };

    /// <summary>The shortest text that reads back as the same double: what System.Text.Json writes in summary.json.</summary>
    public static string Exact(double value) => value.ToString("R", CultureInfo.InvariantCulture);

    public static string Duration(double? seconds) => seconds switch
    {
        null => "–",
        < 60 => string.Create(CultureInfo.InvariantCulture, $"{seconds:F1} s"),
        { } s => string.Create(CultureInfo.InvariantCulture, $"{s:F0} s ({TimeSpan.FromSeconds(Math.Round(s)):g})"),
    };

    public static string Head(string title) =>
        $"<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>{Escape(title)}</title>\n<style>\n{Style}\n</style>\n</head>\n<body>\n";

    public const string Tail = "</body>\n</html>\n";
}
