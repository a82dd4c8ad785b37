using System.Security.Cryptography;
using System.Text.Json.Nodes;

namespace RnnCluster.Tests.Checkpoints;

/// <summary>Edits a committed checkpoint and re-seals its hashes, to reach the checks that come after hash verification.</summary>
internal static class CheckpointTampering
{
    public static void FlipOneByte(string path, int index)
    {
        var bytes = File.ReadAllBytes(path);
        bytes[index] ^= 0x01;
        File.WriteAllBytes(path, bytes);
    }

    /// <summary>Replaces <paramref name="fileName"/> and updates the manifest and marker so only the new content is wrong.</summary>
    public static void ReplaceAndReseal(string checkpoint, string fileName, string text)
    {
        File.WriteAllText(Path.Combine(checkpoint, fileName), text);
        var manifest = JsonNode.Parse(File.ReadAllText(Path.Combine(checkpoint, "manifest.json")))!;
        manifest["files"]![fileName] = Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(Path.Combine(checkpoint, fileName))));
        WriteManifest(checkpoint, manifest);
    }

    /// <summary>Changes a top-level manifest field and rewrites the marker to match.</summary>
    public static void EditManifest(string checkpoint, string field, JsonNode? value)
    {
        var manifest = JsonNode.Parse(File.ReadAllText(Path.Combine(checkpoint, "manifest.json")))!;
        manifest[field] = value;
        WriteManifest(checkpoint, manifest);
    }

    private static void WriteManifest(string checkpoint, JsonNode manifest)
    {
        var path = Path.Combine(checkpoint, "manifest.json");
        File.WriteAllText(path, manifest.ToJsonString());
        File.WriteAllText(Path.Combine(checkpoint, "COMMITTED"), Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(path))));
    }
}
