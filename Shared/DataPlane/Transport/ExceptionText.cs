namespace RnnCluster.DataPlane.Transport;

internal static class ExceptionText
{
    /// <summary>An exception's message with its inner ones, which say why a TLS or TCP connect failed.</summary>
    public static string Describe(Exception e)
    {
        var messages = new List<string>();
        for (var current = (Exception?)e; current is not null; current = current.InnerException)
        {
            messages.Add(current.Message);
        }

        return string.Join(" <- ", messages);
    }
}
