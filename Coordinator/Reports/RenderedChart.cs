namespace RnnCluster.Coordinator.Reports;

/// <summary>A chart drawn both ways: PNG bytes to look at, SVG text to zoom or edit.</summary>
public sealed record RenderedChart(ChartSpec Spec, byte[] Png, string Svg);
