using System.Collections.Immutable;
using System.Diagnostics;
using System.Text;
using System.Text.RegularExpressions;
using AkkaConfig = Akka.Configuration.Config;
using AkkaConfigurationFactory = Akka.Configuration.ConfigurationFactory;
using AkkaHoconRoot = Akka.Configuration.Hocon.HoconRoot;

namespace RnnCluster.Config;

/// <summary>
/// Reads HOCON files and text into a <see cref="ConfigTree"/>, with Akka.NET's reader doing the
/// parsing. Around it, this adds what Akka's reader lacks: files are read from disk, with
/// <c>include "other.conf"</c> relative to the including file and include cycles refused;
/// environment substitutions <c>${VAR}</c> (required) and <c>${?VAR}</c> (optional); and the
/// file and line of every key (<see cref="HoconKeyScanner"/>).
/// </summary>
/// <remarks>
/// Substitution rule (the HOCON spec's): <c>${path}</c> names a setting when the file that holds it
/// (with what that file includes) sets <c>path</c>, and Akka resolves it there; otherwise it names an
/// environment variable. A substitution in a <c>--set</c> override always names an environment
/// variable. An unset <c>${?VAR}</c> that is a whole value leaves the key as it was (or absent); an
/// unset one inside an array drops that item, and inside a concatenation it adds nothing.
/// </remarks>
public static partial class HoconSource
{
    /// <summary>Reads a file; includes are relative to its directory.</summary>
    /// <param name="environment">Variable lookup for substitutions; null reads the process environment.</param>
    public static ConfigTree ReadFile(string path, Func<string, string?>? environment = null)
    {
        ArgumentNullException.ThrowIfNull(path);
        var fullPath = System.IO.Path.GetFullPath(path);
        if (!File.Exists(fullPath))
        {
            throw new ConfigException($"configuration file '{path}' not found ({fullPath})");
        }

        var file = HoconFile.Read(File.ReadAllText(fullPath), path, System.IO.Path.GetDirectoryName(fullPath)!, [fullPath]);
        return Parse(file, environment ?? Environment.GetEnvironmentVariable);
    }

    /// <summary>Reads text; <paramref name="sourceName"/> is what origins and errors call it.</summary>
    /// <param name="baseDirectory">Where includes are looked up; null means the current directory.</param>
    public static ConfigTree ReadText(
        string text,
        string sourceName,
        Func<string, string?>? environment = null,
        string? baseDirectory = null)
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentNullException.ThrowIfNull(sourceName);
        var file = HoconFile.Read(text, sourceName, baseDirectory ?? Directory.GetCurrentDirectory(), []);
        return Parse(file, environment ?? Environment.GetEnvironmentVariable);
    }

    /// <summary>
    /// Reads one override value assigned to <paramref name="keyPath"/>, every key getting
    /// <paramref name="origin"/>; null when the value is an unset <c>${?VAR}</c>.
    /// </summary>
    internal static ConfigTree? ReadOverride(IReadOnlyList<string> keyPath, string valueText, ConfigOrigin origin, Func<string, string?> environment)
    {
        var path = string.Join('.', keyPath);
        var scan = HoconKeyScanner.ScanValue(valueText, origin, path);
        var value = ExpandEnvironment(valueText, scan.Substitutions, ImmutableHashSet<string>.Empty, environment);
        return value is null ? null : Tree(ParseAkka($"{FormatPath(keyPath)} = {value}", origin.Source, null), scan.Assignments, origin);
    }

    /// <summary>An override whose value is taken literally as text (<c>cuda:1</c>, <c>C:\data</c>).</summary>
    internal static ConfigTree ReadLiteralOverride(IReadOnlyList<string> keyPath, string literal, ConfigOrigin origin)
    {
        var path = string.Join('.', keyPath);
        var assignments = Enumerable.Range(1, keyPath.Count - 1)
            .Select(n => new KeyAssignment(string.Join('.', keyPath.Take(n)), new ValueSource(origin, IsObject: true, Quoted: false, Substituted: false)))
            .Append(new KeyAssignment(path, new ValueSource(origin, IsObject: false, Quoted: false, Substituted: false)))
            .ToArray();
        return Tree(ParseAkka($"{FormatPath(keyPath)} = {HoconWriter.Quote(literal)}", origin.Source, null), assignments, origin);
    }

    private static string FormatPath(IEnumerable<string> keyPath) => string.Join('.', keyPath.Select(HoconWriter.FormatKey));

    private static ConfigTree Parse(HoconFile file, Func<string, string?> environment)
    {
        var sources = new Dictionary<string, ValueSource>(StringComparer.Ordinal);
        file.CollectSources(string.Empty, sources);
        return new ConfigTree(ToAkka(file, environment), sources, file.Scan.First);
    }

    private static ConfigTree Tree(AkkaConfig config, IEnumerable<KeyAssignment> assignments, ConfigOrigin root)
    {
        var sources = new Dictionary<string, ValueSource>(StringComparer.Ordinal);
        foreach (var assignment in assignments)
        {
            ConfigTree.Record(sources, assignment.Path, assignment.Source);
        }

        return new ConfigTree(config, sources, root);
    }

    /// <summary>Parses one file with Akka; its includes are handed over, already read, in the order Akka asks for them.</summary>
    private static AkkaConfig ToAkka(HoconFile file, Func<string, string?> environment)
    {
        var defined = file.DefinedPaths();
        RefuseSubstitutionCycles(file.Scan.Substitutions, defined);
        var text = ExpandEnvironment(file.Text, file.Scan.Substitutions, defined, environment)!;
        var next = 0;
        return ParseAkka(text, file.Source, name =>
        {
            if (next >= file.Included.Count || !string.Equals(file.Included[next].Name, name, StringComparison.Ordinal))
            {
                throw new UnreachableException($"Akka asked for include \"{name}\" in {file.Source}, which the scan did not find there.");
            }

            // Substitutions of the included file are already resolved within it; handing them on
            // would make Akka resolve them again under a path it prefixes wrongly.
            return new AkkaHoconRoot(ToAkka(file.Included[next++].File, environment).Root);
        });
    }

    private static AkkaConfig ParseAkka(string text, string source, Func<string, AkkaHoconRoot>? include)
    {
        try
        {
            return AkkaConfigurationFactory.ParseString(text, include);
        }
        catch (Exception e) when (e is not ConfigException and not OutOfMemoryException and not UnreachableException)
        {
            // Akka's reader names a position only for an unknown token; the rewritten text keeps every line where it was.
            var message = e.Message.Split('\n')[0].Trim();
            var position = PositionPattern().Match(message);
            var where = position.Success && int.TryParse(position.Groups[1].ValueSpan, System.Globalization.CultureInfo.InvariantCulture, out var at)
                ? new ConfigOrigin(source, 1 + text.AsSpan(0, Math.Min(at, text.Length)).Count('\n')).ToString()
                : source;
            throw new ConfigException($"{where}: {message.TrimEnd(':')}", e);
        }
    }

    /// <summary>
    /// Replaces each environment substitution by the variable's value as a quoted string (or takes
    /// away what an unset optional one covers), and leaves substitutions of settings to Akka,
    /// without the <c>?</c> its reader does not know. Line breaks stay where they were, so lines
    /// still match the scan. Null when the whole text is an unset optional variable.
    /// </summary>
    private static string? ExpandEnvironment(string text, IReadOnlyList<SubstitutionSite> sites, IReadOnlySet<string> defined, Func<string, string?> environment)
    {
        var result = new StringBuilder(text.Length);
        var copied = 0;
        foreach (var site in sites)
        {
            var (start, end, replacement) = (site.Start, site.End, (string?)null);
            if (IsSetting(site, defined))
            {
                replacement = $"${{{site.Name}}}";
            }
            else if (environment(site.Name) is { } value)
            {
                // An empty value next to other pieces would put "" against a quote and open a """ string.
                replacement = value.Length == 0 && !site.WholeValue ? string.Empty : HoconWriter.Quote(value);
            }
            else if (!site.Optional)
            {
                throw new ConfigException(
                    $"${{{site.Name}}} at {site.Origin}: environment variable '{site.Name}' is not set (use ${{?{site.Name}}} to make it optional)");
            }
            else if (!site.WholeValue)
            {
                replacement = string.Empty;
            }
            else if (site.RemoveStart < 0)
            {
                return null;
            }
            else
            {
                (start, end) = (site.RemoveStart, site.RemoveEnd);
                replacement = new string('\n', text.AsSpan(start, end - start).Count('\n'));
            }

            result.Append(text, copied, start - copied).Append(replacement);
            copied = end;
        }

        return result.Append(text, copied, text.Length - copied).ToString();
    }

    /// <summary>A substitution names a setting when the document sets that path, other than in the very value that holds it.</summary>
    private static bool IsSetting(SubstitutionSite site, IReadOnlySet<string> defined) =>
        defined.Contains(site.Name) && !Related(site.Name, site.ValuePath);

    private static bool Related(string a, string b) =>
        a == b || b.StartsWith(a + ".", StringComparison.Ordinal) || a.StartsWith(b + ".", StringComparison.Ordinal) || b.StartsWith(a + "[", StringComparison.Ordinal);

    /// <summary>
    /// Akka resolves a substitution to the node itself, so <c>a = ${b}</c>, <c>b = ${a}</c> would recurse
    /// without end when read; such cycles are refused here.
    /// </summary>
    private static void RefuseSubstitutionCycles(IReadOnlyList<SubstitutionSite> sites, IReadOnlySet<string> defined)
    {
        var settings = sites.Where(s => IsSetting(s, defined)).ToArray();
        foreach (var start in settings)
        {
            var chain = new List<SubstitutionSite> { start };
            while (settings.FirstOrDefault(s => Related(s.ValuePath, chain[^1].Name) && !chain.Contains(s)) is { } next)
            {
                chain.Add(next);
                if (Related(next.Name, start.ValuePath))
                {
                    throw new ConfigException(
                        $"${{{start.Name}}} at {start.Origin}: substitution cycle ({string.Join(" -> ", chain.Select(s => s.ValuePath).Append(start.ValuePath))})");
                }
            }
        }
    }

    [GeneratedRegex(@"at position (\d+)", RegexOptions.CultureInvariant)]
    private static partial Regex PositionPattern();

    /// <summary>One file (or text) of a document: its text, its scan, and the files it includes, in order.</summary>
    private sealed class HoconFile
    {
        private HoconFile(string text, string source, HoconKeyScan scan, IReadOnlyList<(string Name, HoconFile File)> included)
        {
            Text = text;
            Source = source;
            Scan = scan;
            Included = included;
        }

        public string Text { get; }

        public string Source { get; }

        public HoconKeyScan Scan { get; }

        public IReadOnlyList<(string Name, HoconFile File)> Included { get; }

        /// <param name="chain">Full paths of the files that include this one, outermost first.</param>
        public static HoconFile Read(string text, string source, string directory, IReadOnlyList<string> chain)
        {
            var scan = HoconKeyScanner.ScanDocument(text, source);
            var included = new List<(string, HoconFile)>();
            foreach (var include in scan.Includes)
            {
                var at = new ConfigOrigin(source, include.Line);
                var fullPath = System.IO.Path.GetFullPath(System.IO.Path.Combine(directory, include.Name));
                if (!File.Exists(fullPath))
                {
                    throw new ConfigException($"include \"{include.Name}\" at {at}: file not found ({fullPath})");
                }

                if (chain.Contains(fullPath, StringComparer.Ordinal))
                {
                    throw new ConfigException($"include \"{include.Name}\" at {at}: include cycle ({string.Join(" -> ", chain.Append(fullPath))})");
                }

                // Origins of included values read relative to the including file's displayed path.
                var shown = System.IO.Path.Combine(System.IO.Path.GetDirectoryName(source) ?? string.Empty, include.Name);
                included.Add((include.Name, Read(File.ReadAllText(fullPath), shown, System.IO.Path.GetDirectoryName(fullPath)!, [.. chain, fullPath])));
            }

            return new HoconFile(text, source, scan, included);
        }

        /// <summary>Every key path this file and its includes set, from this file's root.</summary>
        public IReadOnlySet<string> DefinedPaths()
        {
            var sources = new Dictionary<string, ValueSource>(StringComparer.Ordinal);
            CollectSources(string.Empty, sources);
            return sources.Keys.ToHashSet(StringComparer.Ordinal);
        }

        /// <summary>Records where each key was written, in document order: an include's keys land where the include stands.</summary>
        public void CollectSources(string prefix, Dictionary<string, ValueSource> sources)
        {
            var assignments = Scan.Assignments;
            var next = 0;
            for (var i = 0; i <= assignments.Count; i++)
            {
                for (; next < Scan.Includes.Count && Scan.Includes[next].AssignmentsBefore == i; next++)
                {
                    Included[next].File.CollectSources(Join(prefix, Scan.Includes[next].Prefix), sources);
                }

                if (i < assignments.Count)
                {
                    ConfigTree.Record(sources, Join(prefix, assignments[i].Path), assignments[i].Source);
                }
            }
        }

        private static string Join(string prefix, string path) =>
            prefix.Length == 0 ? path : path.Length == 0 ? prefix : $"{prefix}.{path}";
    }
}
