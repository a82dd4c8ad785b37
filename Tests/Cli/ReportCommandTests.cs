using System.Globalization;
using System.Text.Json;
using System.Xml.Linq;
using RnnCluster.Tests.Reports;
using RnnCluster.Tests.Support;
using SkiaSharp;

namespace RnnCluster.Tests.Cli;

/// <summary><c>rnncluster report</c>: the files a person opens, decoded and parsed as a browser or viewer would.</summary>
public sealed class ReportCommandTests
{
    private static readonly XNamespace Svg = "http://www.w3.org/2000/svg";
    private static readonly string[] Charts = ["loss", "learning-rate", "tokens-per-second", "grad-norm"];

    [Fact]
    public async Task A_run_gets_four_charts_as_png_and_svg_and_a_page_with_its_summary_figures()
    {
        using var dir = new TempDirectory();
        var run = dir.Combine("lstm-small");
        ScriptedRun.Write(run);

        var r = await CliRunner.RunAsync("report", run, "--width", "640", "--height", "360");

        Assert.True(r.ExitCode == 0, r.ToString());
        var report = Path.Combine(run, "report");
        Assert.Contains(Path.Combine(report, "report.html"), r.Output, StringComparison.Ordinal);
        Assert.Equal(
            [.. Charts.SelectMany(c => new[] { c + ".png", c + ".svg" }).Append("report.html").Order(StringComparer.Ordinal)],
            Directory.GetFiles(report).Select(Path.GetFileName).Order(StringComparer.Ordinal)); // no temporaries left
        foreach (var chart in Charts)
        {
            AssertPng(Path.Combine(report, chart + ".png"), 640, 360);
            AssertSvg(Path.Combine(report, chart + ".svg"));
        }

        var html = await File.ReadAllTextAsync(Path.Combine(report, "report.html"));
        Assert.Contains(ExactFigure(run, "validLoss"), html, StringComparison.Ordinal);
        Assert.Contains(ExactFigure(run, "testLoss"), html, StringComparison.Ordinal);
        Assert.Contains("<h1>Run lstm-small</h1>", html, StringComparison.Ordinal);
        Assert.Contains("<img src=\"loss.png\" width=\"640\" height=\"360\"", html, StringComparison.Ordinal);
        Assert.Contains("max-steps", html, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_loss_chart_labels_train_valid_and_test_curves_and_marks_events()
    {
        using var dir = new TempDirectory();
        var run = dir.Combine("run");
        ScriptedRun.Write(run, extraLines: ["{\"kind\":\"rollback\",\"step\":25,\"toStep\":20}", "{\"kind\":\"future-kind\",\"step\":26}"]);

        var r = await CliRunner.RunAsync("report", run, "--log-y");

        Assert.True(r.ExitCode == 0, r.ToString());
        var texts = SvgTexts(Path.Combine(run, "report", "loss.svg"));
        Assert.Contains("train loss", texts);
        Assert.Contains("valid loss", texts);
        Assert.Contains("test loss", texts);
        Assert.Contains("rollback", texts);
        Assert.Contains("loss (nats per token) (log scale)", texts);
        Assert.Contains("2.5", texts); // round ticks on the log axis, not powers of ten only
        var html = await File.ReadAllTextAsync(Path.Combine(run, "report", "report.html"));
        Assert.Contains("<td>rollback</td><td class=\"n\">25</td><td>toStep=20</td>", html, StringComparison.Ordinal);
        Assert.Contains("future-kind (1)", html, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Run_names_with_markup_characters_are_escaped_in_the_page()
    {
        using var dir = new TempDirectory();
        var run = dir.Combine("run <b>&amp");
        ScriptedRun.Write(run);

        var r = await CliRunner.RunAsync("report", run);

        Assert.True(r.ExitCode == 0, r.ToString());
        var html = await File.ReadAllTextAsync(Path.Combine(run, "report", "report.html"));
        Assert.Contains("<h1>Run run &lt;b&gt;&amp;amp</h1>", html, StringComparison.Ordinal);
        Assert.DoesNotContain("<b>", html, StringComparison.Ordinal);
        Assert.Contains("Loss: run <b>&amp", SvgTexts(Path.Combine(run, "report", "loss.svg"))); // XML-escaped in the file, read back whole
    }

    [Fact]
    public async Task Two_runs_are_compared_on_shared_charts_each_labelled_by_its_directory()
    {
        using var dir = new TempDirectory();
        ScriptedRun.Write(dir.Combine("lstm"));
        ScriptedRun.Write(dir.Combine("gru"), summary: false);
        var output = dir.Combine("compare");

        var r = await CliRunner.RunAsync("report", dir.Combine("lstm"), dir.Combine("gru"), "--out", output);

        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.False(Directory.Exists(dir.Combine("lstm", "report"))); // a comparison writes only where it was told
        Assert.Contains("lstm (train)", SvgTexts(Path.Combine(output, "loss.svg")));
        Assert.Contains("gru (valid)", SvgTexts(Path.Combine(output, "loss.svg")));
        foreach (var chart in Charts.Skip(1))
        {
            var texts = SvgTexts(Path.Combine(output, chart + ".svg"));
            Assert.Contains("lstm", texts);
            Assert.Contains("gru", texts);
            AssertPng(Path.Combine(output, chart + ".png"), 900, 500);
        }

        var html = await File.ReadAllTextAsync(Path.Combine(output, "report.html"));
        Assert.Contains("<h1>Comparison of 2 runs</h1>", html, StringComparison.Ordinal);
        Assert.Contains(">lstm</td>", html, StringComparison.Ordinal);
        Assert.Contains(">gru</td>", html, StringComparison.Ordinal);
        Assert.Contains(ExactFigure(dir.Combine("lstm"), "validLoss"), html, StringComparison.Ordinal);
        Assert.Contains("not finished (no summary.json)", html, StringComparison.Ordinal); // gru: figures from its metrics
    }

    [Fact]
    public async Task A_real_short_training_run_is_reported_with_its_final_validation_loss()
    {
        using var dir = new TempDirectory();
        var run = dir.Combine("run");
        var train = await CliRunner.RunAsync(["train", "--data", "builtin:agreement", "--run-dir", run, "--max-steps", "30", .. CliRunner.TinyModel]);
        Assert.True(train.ExitCode == 0, train.ToString());

        var r = await CliRunner.RunAsync("report", run);

        Assert.True(r.ExitCode == 0, r.ToString());
        var html = await File.ReadAllTextAsync(Path.Combine(run, "report", "report.html"));
        Assert.Contains(ExactFigure(run, "validLoss"), html, StringComparison.Ordinal);
        Assert.Contains("config.hocon of the newest checkpoint", html, StringComparison.Ordinal);
        Assert.Contains("hidden-size = 16", html, StringComparison.Ordinal);
        AssertPng(Path.Combine(run, "report", "loss.png"), 900, 500);
        Assert.True(SvgPathLength(Path.Combine(run, "report", "loss.svg")) > 0);
    }

    [Fact]
    public async Task A_missing_directory_is_named_and_nothing_is_written()
    {
        using var dir = new TempDirectory();
        ScriptedRun.Write(dir.Combine("good"));
        var r = await CliRunner.RunAsync("report", dir.Combine("good"), dir.Combine("nope"), "--out", dir.Combine("out"));
        AssertOneError(r, $"{dir.Combine("nope")}: no such run directory");
        Assert.False(Directory.Exists(dir.Combine("out")));
    }

    [Fact]
    public async Task A_directory_without_metrics_is_named()
    {
        using var dir = new TempDirectory();
        Directory.CreateDirectory(dir.Combine("empty"));
        var r = await CliRunner.RunAsync("report", dir.Combine("empty"));
        AssertOneError(r, $"{dir.Combine("empty")}: no metrics.jsonl");
        Assert.False(Directory.Exists(dir.Combine("empty", "report")));
    }

    [Fact]
    public async Task A_malformed_metrics_line_is_named_by_file_and_line()
    {
        using var dir = new TempDirectory();
        var run = dir.Combine("run");
        ScriptedRun.Write(run, extraLines: ["{\"kind\":\"train\",\"step\":41,\"loss\":[1]}"]);
        var r = await CliRunner.RunAsync("report", run);
        AssertOneError(r, $"{Path.Combine(run, "metrics.jsonl")}:46: \"loss\" is [1], not a number");
        Assert.False(Directory.Exists(Path.Combine(run, "report")));
    }

    [Fact]
    public async Task An_empty_metrics_file_is_refused()
    {
        using var dir = new TempDirectory();
        dir.Write("run/metrics.jsonl", string.Empty);
        var r = await CliRunner.RunAsync("report", dir.Combine("run"));
        AssertOneError(r, "metrics.jsonl: the file is empty");
    }

    [Fact]
    public async Task A_malformed_summary_is_named()
    {
        using var dir = new TempDirectory();
        var run = dir.Combine("run");
        ScriptedRun.Write(run);
        await File.WriteAllTextAsync(Path.Combine(run, "summary.json"), "{\"steps\": 3}");
        var r = await CliRunner.RunAsync("report", run);
        AssertOneError(r, $"{Path.Combine(run, "summary.json")}: not a run summary");
    }

    [Fact]
    public async Task No_run_directory_is_a_usage_error()
    {
        var r = await CliRunner.RunAsync("report");
        Assert.Equal(2, r.ExitCode);
    }

    [Fact]
    public async Task Help_lists_report_and_explains_its_options()
    {
        var root = await CliRunner.RunAsync("--help");
        var help = await CliRunner.RunAsync("report", "--help");

        Assert.Contains("report", root.Output, StringComparison.Ordinal);
        Assert.Equal(0, help.ExitCode);
        foreach (var option in new[] { "RUN_DIR", "--out", "RUN_DIR/report", "./report-compare", "--log-y", "--width", "--height" })
        {
            Assert.Contains(option, help.Output, StringComparison.Ordinal);
        }
    }

    private static void AssertPng(string path, int width, int height)
    {
        using var bitmap = SKBitmap.Decode(path);
        Assert.NotNull(bitmap);
        Assert.Equal((width, height), (bitmap.Width, bitmap.Height));
        // A drawn chart, not a blank canvas: axes, grid, text and curves give many colours.
        var colours = new HashSet<uint>();
        for (var y = 0; y < height; y += 3)
        {
            for (var x = 0; x < width; x += 3)
            {
                colours.Add((uint)bitmap.GetPixel(x, y));
            }
        }

        Assert.True(colours.Count > 20, $"{path}: only {colours.Count} colours");
    }

    private static void AssertSvg(string path)
    {
        var svg = XDocument.Load(path);
        Assert.Equal(Svg + "svg", svg.Root!.Name);
        Assert.True(SvgPathLength(path) > 0, path);
    }

    /// <summary>The total length of the path data: curves are paths in ScottPlot's SVG.</summary>
    private static int SvgPathLength(string path) =>
        XDocument.Load(path).Descendants().Where(e => e.Name == Svg + "path" || e.Name == Svg + "polyline")
            .Sum(e => ((string?)e.Attribute("d") ?? (string?)e.Attribute("points") ?? string.Empty).Length);

    private static List<string> SvgTexts(string path) =>
        [.. XDocument.Load(path).Descendants(Svg + "text").Select(e => e.Value.Trim())];

    /// <summary>A figure exactly as summary.json prints it.</summary>
    private static string ExactFigure(string run, string name)
    {
        using var summary = JsonDocument.Parse(File.ReadAllText(Path.Combine(run, "summary.json")));
        var text = summary.RootElement.GetProperty(name).GetRawText();
        Assert.True(double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out _), text);
        return text;
    }

    private static void AssertOneError(CliResult r, string expected)
    {
        Assert.True(r.ExitCode == 1, r.ToString());
        var lines = r.Error.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.True(lines.Length == 1, r.ToString());
        Assert.StartsWith("error: ", lines[0], StringComparison.Ordinal);
        Assert.Contains(expected, lines[0], StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", r.Error, StringComparison.Ordinal);
    }
}
