using System.Collections.Concurrent;
using Microsoft.Playwright;

namespace RnnCluster.Tests.Monitoring;

/// <summary>
/// Headless Chromium for the dashboard's tests: Debian's <c>chromium</c> package (scripts/test.sh installs it),
/// driven by Playwright through its <see cref="BrowserTypeLaunchOptions.ExecutablePath"/>. Playwright 1.64
/// speaks the DevTools protocol of Chromium 156, the version Debian 12 ships, so no browser of Playwright's
/// own is needed, and none is ever downloaded (its install command is never run; launching a given executable
/// downloads nothing). A missing chromium fails the test with how to install it: never a silent skip.
/// </summary>
internal sealed class BrowserSession : IAsyncDisposable
{
    /// <summary>Where Debian installs it; <c>RNNCLUSTER_CHROMIUM</c> names another executable.</summary>
    public const string DefaultExecutable = "/usr/bin/chromium";

    private readonly IPlaywright _playwright;
    private readonly IBrowser _browser;
    private readonly ConcurrentBag<(string Url, long Bytes)> _loaded = [];

    private BrowserSession(IPlaywright playwright, IBrowser browser, IPage page)
    {
        _playwright = playwright;
        _browser = browser;
        Page = page;
        // Every response the page finished receiving, with its headers and body as they came over the wire (the
        // event stream finishes only when it closes, so it is not among them: the tests weigh its first event apart).
        page.RequestFinished += async (_, request) =>
        {
            var sizes = await request.SizesAsync();
            _loaded.Add((request.Url, sizes.ResponseHeadersSize + sizes.ResponseBodySize));
        };
    }

    public IPage Page { get; }

    /// <summary>The responses the page has finished loading: URL and bytes (headers and body).</summary>
    public IReadOnlyList<(string Url, long Bytes)> Loaded => [.. _loaded];

    public static string Executable => Environment.GetEnvironmentVariable("RNNCLUSTER_CHROMIUM") is { Length: > 0 } path ? path : DefaultExecutable;

    public static async Task<BrowserSession> StartAsync(int width = 1280, int height = 1600)
    {
        Assert.True(File.Exists(Executable),
            $"Chromium is not installed at {Executable}: the dashboard's browser tests drive Debian's chromium package headless. " +
            "scripts/test.sh installs it when missing (apt-get install chromium); RNNCLUSTER_CHROMIUM names another executable.");
        var playwright = await Playwright.CreateAsync();
        try
        {
            var browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
            {
                ExecutablePath = Executable,
                Headless = true,
                // No GPU on test machines; /dev/shm in containers is often too small for Chromium's default.
                Args = ["--disable-gpu", "--disable-dev-shm-usage"],
            });
            var page = await browser.NewPageAsync(new BrowserNewPageOptions
            {
                ViewportSize = new ViewportSize { Width = width, Height = height },
                ColorScheme = ColorScheme.Light,
            });
            return new BrowserSession(playwright, browser, page);
        }
        catch
        {
            playwright.Dispose();
            throw;
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _browser.CloseAsync();
        _playwright.Dispose();
    }
}
