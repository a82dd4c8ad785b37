using System.Text;

namespace RnnCluster.Data.Fetch;

/// <summary>Text clean-up shared by the converters.</summary>
internal static class TextNormalization
{
    /// <summary>Every run of whitespace (tabs and line breaks included) becomes one space; the ends are trimmed. Makes any text one TSV field.</summary>
    public static string CollapseWhitespace(string text)
    {
        var result = new StringBuilder(text.Length);
        var pendingSpace = false;
        foreach (var c in text)
        {
            if (char.IsWhiteSpace(c))
            {
                pendingSpace = result.Length > 0;
                continue;
            }

            if (pendingSpace)
            {
                result.Append(' ');
                pendingSpace = false;
            }

            result.Append(c);
        }

        return result.ToString();
    }
}
