namespace RnnCluster.Coordinator.Reports;

/// <summary>How a series is drawn: a plain curve (dense train lines), a curve with points (evaluations), points only, or a thin curve with open points (a run's second curve on a comparison).</summary>
public enum SeriesStyle
{
    Line,
    LineWithPoints,
    Points,
    ThinWithOpenPoints,
}

/// <summary>One labelled curve: finite points only, in step order. <see cref="Colour"/> indexes the palette, so one run keeps one colour across its curves.</summary>
public sealed record ChartSeries(string Label, IReadOnlyList<double> Steps, IReadOnlyList<double> Values, SeriesStyle Style, int Colour);
