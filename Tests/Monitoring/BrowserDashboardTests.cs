using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using System.Xml.Linq;
using Microsoft.Playwright;
using RnnCluster.Monitoring;
using RnnCluster.Tests.Cluster.Processes;
using RnnCluster.Tests.Support;
using Xunit.Abstractions;

namespace RnnCluster.Tests.Monitoring;

/// <summary>
/// The dashboard in a real browser (headless Debian chromium, <see cref="BrowserSession"/>) on a real cluster
/// run: a coordinator process serving it and two worker processes. Every wait is on the page's DOM or a
/// process's output, with a timeout. The screenshot and the measured figures (page weight, update latency)
/// go to artifacts/test-results/dashboard/. Beside it, a check without a browser that what the page loads is
/// embedded, uPlot at the version build/DashboardAssets.targets pins.
/// </summary>
[Collection(ProcessCollection.Name)]
public sealed partial class BrowserDashboardTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Patience = LocalCluster.Patience;

    /// <summary>Updates whose latency is measured (server's step time to the headline showing it).</summary>
    private const int LatencySamples = 15;

    [Fact]
    public async Task A_cluster_runs_dashboard_draws_growing_curves_lists_both_workers_up_and_shows_a_killed_worker_as_lost()
    {
        // The browser first: a machine without chromium fails here, before any process starts.
        await using var browser = await BrowserSession.StartAsync();
        var page = browser.Page;

        using var dir = new TempDirectory();
        // An endless run (the test ends it) whose coordinator holds each window 30 ms: steps come a few per second.
        await using var cluster = LocalCluster.WithDelayedWindows(dir, 100_000, "training.epochs=10000", "cluster.min-workers=2", "monitor.port=0");
        var (coordinator, workers) = await cluster.StartAsync(2);
        var (w1, w2) = (workers[0], workers[1]);
        var address = await DashboardAddressAsync(coordinator);
        await page.GotoAsync(address.AbsoluteUri);

        // The curves: points arrive, then more points.
        var first = await WaitForPointsAsync(page, 1);
        await WaitForPointsAsync(page, first + 5);
        Assert.Equal("live", await page.TextContentAsync("#connection"));

        // Zoom (drag across the loss chart) survives live updates; a double-click resets it; log scale redraws.
        await ZoomAndResetAsync(page);
        await page.CheckAsync("#log-scale");
        await WaitForAsync(page, "document.getElementById('chart-loss').dataset.scale === 'log'", "the loss chart on a log scale");
        var beforeLog = await PointsAsync(page);
        await WaitForPointsAsync(page, beforeLog + 1);

        // Both workers registered and up, as the cluster itself says too (the kill below needs both Up).
        await WaitForAsync(page, "document.querySelectorAll('#members tbody tr[data-role=worker][data-state=up]').length === 2", "both workers up in the members table");
        var w2Address = await WaitUntilUpAsync(w2, coordinator, w1, w2);
        await WaitUntilUpAsync(w1, coordinator, w1, w2);

        var latencies = await MeasureLatencyAsync(page, LatencySamples);

        w2.Kill();
        await WaitForAsync(page, "document.querySelectorAll('#members tbody tr[data-role=worker][data-state=lost]').length === 1", "the killed worker shown as lost");
        var lost = await page.GetAttributeAsync("#members tbody tr[data-role=worker][data-state=lost]", "data-address");
        Assert.Equal(w2Address, lost);
        Assert.Equal(1, await page.Locator("#members tbody tr[data-role=worker][data-state=up]").CountAsync());
        // Read in one evaluation: the table's rows are rebuilt on every members update, so an element found
        // first and styled after may already be detached (its computed style then reads as empty).
        await WaitForAsync(
            page,
            "(() => { const e = document.querySelector('#members tbody tr[data-state=lost] .state'); return e !== null && getComputedStyle(e, '::before').content.includes('⚠'); })()",
            "the lost worker's state marked ⚠");
        // Training goes on without it, and the page keeps drawing.
        await WaitForPointsAsync(page, await PointsAsync(page) + 3);
        await WaitForAsync(page, "document.querySelectorAll('#events li[data-kind=generation]').length >= 2", "the survivor's new generation in the recent events");
        // A validation: its point on the loss chart, the best checkpoint it committed, and the text sampled after it.
        await WaitForAsync(page, "Number(document.getElementById('chart-loss').dataset.validPoints) >= 1", "a validation point");
        await WaitForAsync(page, "document.querySelectorAll('#checkpoints tbody tr').length >= 1", "a committed checkpoint");
        await WaitForAsync(page, "document.getElementById('sample').dataset.step !== ''", "a generated sample");

        var shots = Directory.CreateDirectory(Path.Combine(RepositoryRoot.Path, "artifacts", "test-results", "dashboard")).FullName;
        var screenshot = Path.Combine(shots, "cluster-run.png");
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = screenshot, FullPage = true });
        Assert.True(new FileInfo(screenshot).Length > 10_000, $"{screenshot} is too small to show the page");

        // Offline: everything the page loaded came from the run's own server.
        var loaded = browser.Loaded;
        Assert.All(loaded, r => Assert.StartsWith(address.AbsoluteUri, r.Url, StringComparison.Ordinal));
        Assert.Contains(loaded, r => r.Url.EndsWith("/assets/vendor/uPlot.iife.min.js", StringComparison.Ordinal));
        await ReportFiguresAsync(shots, address, loaded, latencies, screenshot);
    }

    [Fact]
    public void The_page_and_every_file_it_references_are_embedded_with_the_uplot_version_pinned_in_the_build()
    {
        var assets = DashboardAssets.Embedded;
        var page = Encoding.UTF8.GetString(assets.Find("index.html")?.Content ?? throw new InvalidOperationException("dashboard/index.html is not embedded"));
        var references = AssetReference().Matches(page).Select(m => m.Groups[1].Value).ToList();
        Assert.Equal(["vendor/uPlot.min.css", "dashboard.css", "vendor/uPlot.iife.min.js", "dashboard.js"], references);
        Assert.All(references, r => Assert.True(assets.Find(r) is { Content.Length: > 0 }, $"the page loads assets/{r}, which is not embedded"));
        // Offline: nothing else is loaded (a src or href to another host would be a CDN).
        Assert.DoesNotMatch(@"(src|href)=""(https?:)?//", page);

        var pinned = XDocument.Load(Path.Combine(RepositoryRoot.Path, "build", "DashboardAssets.targets")).Descendants("RnnUplotVersion").Single().Value;
        var uplot = Encoding.UTF8.GetString(assets.Find("vendor/uPlot.iife.min.js")!.Content);
        Assert.StartsWith($"/*! https://github.com/leeoniya/uPlot (v{pinned}) */", uplot, StringComparison.Ordinal);
        // Its license travels with it.
        Assert.StartsWith("The MIT License", Encoding.UTF8.GetString(assets.Find("vendor/LICENSE")?.Content ?? []), StringComparison.Ordinal);
    }

    /// <summary>The coordinator prints <c>dashboard: http://HOST:PORT/</c> once its server listens.</summary>
    private static async Task<Uri> DashboardAddressAsync(NodeProcess coordinator)
    {
        var line = await coordinator.WaitForLineAsync("dashboard: http://", Patience);
        return new Uri(line[(line.IndexOf("http://", StringComparison.Ordinal))..].Trim());
    }

    private static Task<int> PointsAsync(IPage page) =>
        page.EvaluateAsync<int>("Number(document.getElementById('chart-loss').dataset.points)");

    private static async Task<int> WaitForPointsAsync(IPage page, int atLeast)
    {
        await WaitForAsync(page, $"Number(document.getElementById('chart-loss').dataset.points) >= {atLeast.ToString(CultureInfo.InvariantCulture)}", $"{atLeast} points on the loss chart");
        return await PointsAsync(page);
    }

    private static async Task WaitForAsync(IPage page, string condition, string what)
    {
        try
        {
            await page.WaitForFunctionAsync(condition, null, new PageWaitForFunctionOptions { Timeout = (float)Patience.TotalMilliseconds });
        }
        catch (TimeoutException e)
        {
            var body = await page.InnerTextAsync("body");
            throw new TimeoutException($"the dashboard did not show {what} within {Patience.TotalSeconds} s. The page said:\n{body}", e);
        }
    }

    private static async Task ZoomAndResetAsync(IPage page)
    {
        var over = await page.Locator("#chart-loss .u-over").BoundingBoxAsync() ?? throw new InvalidOperationException("the loss chart has no plot area");
        await page.Mouse.MoveAsync(over.X + (over.Width * 0.4f), over.Y + (over.Height / 2));
        await page.Mouse.DownAsync();
        await page.Mouse.MoveAsync(over.X + (over.Width * 0.7f), over.Y + (over.Height / 2), new MouseMoveOptions { Steps = 5 });
        await page.Mouse.UpAsync();
        await WaitForAsync(page, "document.getElementById('chart-loss').dataset.zoomed === 'true'", "a zoomed loss chart");
        var window = await page.EvaluateAsync<string>("(({ xMin, xMax }) => xMin + ' ' + xMax)(document.getElementById('chart-loss').dataset)");
        // New points arrive; the user's window stays.
        await WaitForPointsAsync(page, await PointsAsync(page) + 2);
        Assert.Equal(window, await page.EvaluateAsync<string>("(({ xMin, xMax }) => xMin + ' ' + xMax)(document.getElementById('chart-loss').dataset)"));
        await page.Mouse.DblClickAsync(over.X + (over.Width / 2), over.Y + (over.Height / 2));
        await WaitForAsync(page, "document.getElementById('chart-loss').dataset.zoomed === 'false'", "the loss chart reset to the whole run");
    }

    /// <summary>
    /// Seconds from the server stamping a step (its <c>unix</c>, on this machine's clock) to the headline showing
    /// it, for <paramref name="samples"/> successive headline updates, read by a MutationObserver in the page.
    /// </summary>
    private static async Task<double[]> MeasureLatencyAsync(IPage page, int samples)
    {
        const string Script = """
            n => new Promise(resolve => {
              const el = document.getElementById('h-step');
              const out = [];
              let last = el.dataset.unix;
              new MutationObserver((_, observer) => {
                if (el.dataset.unix === last || !el.dataset.unix) return;
                last = el.dataset.unix;
                out.push(Date.now() / 1000 - Number(last));
                if (out.length >= n) { observer.disconnect(); resolve(out); }
              }).observe(el, { attributes: true, attributeFilter: ['data-unix'] });
            })
            """;
        var latencies = await page.EvaluateAsync<double[]>(Script, samples).WaitAsync(Patience);
        Assert.All(latencies, l => Assert.True(l > -0.05 && l < 5, $"an update took {l:F3} s to show (one machine, one clock)"));
        return latencies;
    }

    private async Task ReportFiguresAsync(string folder, Uri address, IReadOnlyList<(string Url, long Bytes)> loaded, double[] latencies, string screenshot)
    {
        using var http = new HttpClient();
        var state = await http.GetByteArrayAsync(new Uri(address, "api/state"));
        var sorted = latencies.Order().ToArray();
        var median = sorted[sorted.Length / 2];
        var lines = new List<string>
        {
            $"page weight: {loaded.Sum(r => r.Bytes):N0} bytes in {loaded.Count} responses (headers and bodies, as loaded), plus the event stream's first state event (~{state.Length:N0} bytes now)",
        };
        lines.AddRange(loaded.OrderByDescending(r => r.Bytes).Select(r => $"  {r.Bytes,9:N0}  {r.Url}"));
        lines.Add($"update latency (server's step time to the headline showing it), {sorted.Length} updates: median {median * 1000:F1} ms, min {sorted[0] * 1000:F1} ms, max {sorted[^1] * 1000:F1} ms");
        lines.Add($"screenshot: {screenshot}");
        await File.WriteAllLinesAsync(Path.Combine(folder, "figures.txt"), lines);
        foreach (var line in lines)
        {
            output.WriteLine(line);
        }
    }

    /// <summary>Waits until <paramref name="node"/> is an Up member as one of <paramref name="nodes"/> logs it; returns its address.</summary>
    private static async Task<string> WaitUntilUpAsync(NodeProcess node, params NodeProcess[] nodes)
    {
        var started = await node.WaitForLineAsync(l => l.Contains("joining through", StringComparison.Ordinal) || l.Contains("coordinator listening at", StringComparison.Ordinal), Patience, "its address");
        var address = AkkaAddress().Match(started).Value;
        await await Task.WhenAny(nodes.Select(n => n.WaitForLineAsync($"is moving node [{address}] to [Up]", Patience)));
        return address;
    }

    [GeneratedRegex(@"(?:src|href)=""assets/([^""]+)""")]
    private static partial Regex AssetReference();

    [GeneratedRegex(@"akka\.tcp://\S+?:\d+")]
    private static partial Regex AkkaAddress();
}
