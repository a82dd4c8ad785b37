using System.Security.Cryptography;
using System.Text;

namespace RnnCluster.Data;

/// <summary>
/// The identity of a vocabulary: SHA-256 (lower-case hex) of its tokens in id order, each followed by
/// a newline, UTF-8. A checkpoint records it so a resume with a different vocabulary is refused.
/// </summary>
public static class VocabularyHash
{
    public static string Compute(IReadOnlyList<string> tokens)
    {
        ArgumentNullException.ThrowIfNull(tokens);
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        foreach (var token in tokens)
        {
            sha.AppendData(Encoding.UTF8.GetBytes(token));
            sha.AppendData("\n"u8);
        }

        return Convert.ToHexStringLower(sha.GetHashAndReset());
    }
}
