using System.Text;

namespace RnnCluster.DataPlane.AllReduce;

/// <summary>A WebSocket close reason holds at most 123 UTF-8 bytes; longer text is cut (whole characters only) rather than refused.</summary>
internal static class CloseReason
{
    private const int MaxBytes = 123;

    public static string Fit(string why)
    {
        if (Encoding.UTF8.GetByteCount(why) <= MaxBytes)
        {
            return why;
        }

        var length = Math.Min(why.Length, MaxBytes);
        while (length > 0 && (Encoding.UTF8.GetByteCount(why.AsSpan(0, length)) > MaxBytes || char.IsHighSurrogate(why[length - 1])))
        {
            length--;
        }

        return why[..length];
    }
}
