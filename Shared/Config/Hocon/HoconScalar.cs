namespace RnnCluster.Config;

/// <summary>
/// A string, number, boolean or null. The text is kept exactly as written (after unescaping) so
/// numbers are converted only when a typed getter asks, with the invariant culture, and errors can
/// echo what the user wrote.
/// </summary>
public sealed class HoconScalar : HoconValue
{
    public HoconScalar(string text, HoconScalarKind kind, bool quoted, ConfigOrigin origin)
        : base(origin)
    {
        ArgumentNullException.ThrowIfNull(text);
        Text = text;
        Kind = kind;
        Quoted = quoted;
    }

    public string Text { get; }

    public HoconScalarKind Kind { get; }

    /// <summary>True when the text came from a quoted string, so it is echoed in quotes.</summary>
    public bool Quoted { get; }

    public override string ToDisplayString() => Quoted ? HoconWriter.Quote(Text) : Text;
}
