using System.Text.Json;

namespace RnnCluster.Data.Fetch;

/// <summary>Reading the JSON files inside a package, with errors that name the file.</summary>
internal static class PackageJson
{
    public static JsonDocument Parse(string path)
    {
        try
        {
            var (text, _) = Utf8TextReader.Read(path, Utf8Policy.Error);
            return JsonDocument.Parse(text);
        }
        catch (JsonException e)
        {
            throw new DataException($"{path}: invalid JSON: {e.Message}", e);
        }
    }

    /// <summary>A JSON array of strings (a <c>file_list.json</c>).</summary>
    public static string[] ReadStringArray(string path)
    {
        using var document = Parse(path);
        if (document.RootElement.ValueKind != JsonValueKind.Array)
        {
            throw new DataException($"{path}: expected a JSON array of file names");
        }

        return document.RootElement.EnumerateArray()
            .Select(e => e.ValueKind == JsonValueKind.String ? e.GetString()! : throw new DataException($"{path}: expected strings, found a {e.ValueKind}"))
            .ToArray();
    }

    public static string RequireString(JsonElement element, string property, string path) =>
        element.ValueKind == JsonValueKind.Object && element.TryGetProperty(property, out var value) && value.ValueKind == JsonValueKind.String
            ? value.GetString()!
            : throw new DataException($"{path}: missing string property \"{property}\"");

    /// <summary>A path from a package's own file list, kept inside <paramref name="directory"/>.</summary>
    public static string Inside(string directory, string relative, string listPath)
    {
        var full = Path.GetFullPath(Path.Combine(directory, relative));
        var root = Path.TrimEndingDirectorySeparator(Path.GetFullPath(directory)) + Path.DirectorySeparatorChar;
        return full.StartsWith(root, StringComparison.Ordinal)
            ? full
            : throw new DataException($"{listPath}: entry '{relative}' points outside {directory}");
    }
}
