namespace RnnCluster.Coordinator.Reports;

/// <summary>One chart to draw: <see cref="FileName"/> without extension (it is written as .png and .svg).</summary>
public sealed record ChartSpec(string FileName, string Title, string ValueLabel, bool LogScale, IReadOnlyList<ChartSeries> Series, IReadOnlyList<ChartMarker> Markers)
{
    public bool HasData => Series.Any(s => s.Values.Count > 0);
}
