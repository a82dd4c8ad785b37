using System.Globalization;
using ScottPlot;
using SkiaSharp;

namespace RnnCluster.Coordinator.Reports;

/// <summary>
/// Draws a <see cref="ChartSpec"/> with ScottPlot into memory (the caller writes the files, so a failure
/// here leaves nothing half-written). A log scale is drawn the way ScottPlot 5 does it: the values'
/// logarithms on a linear axis, with ticks placed at round values (<see cref="LogAxisTicks"/>).
/// </summary>
public sealed class ChartRenderer
{
    /// <summary>Fonts tried in order: Skia's Linux build reads /usr/share/fonts directly, and DejaVu is Debian's default.</summary>
    private static readonly string[] PreferredFonts = ["DejaVu Sans", "Liberation Sans", "Noto Sans", "Arial"];

    private readonly string? _font;

    public ChartRenderer(int width, int height)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(width, 200);
        ArgumentOutOfRangeException.ThrowIfLessThan(height, 150);
        Width = width;
        Height = height;
        var families = SKFontManager.Default.GetFontFamilies();
        HasFonts = families.Length > 0;
        _font = PreferredFonts.FirstOrDefault(f => families.Contains(f, StringComparer.OrdinalIgnoreCase));
    }

    public int Width { get; }

    public int Height { get; }

    /// <summary>False where Skia found no font at all: the charts would be drawn without any text.</summary>
    public bool HasFonts { get; }

    public RenderedChart Render(ChartSpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        using var plot = new Plot();
        var palette = new ScottPlot.Palettes.Category10();
        foreach (var series in spec.Series.Where(s => s.Values.Count > 0))
        {
            var (steps, values) = MinMaxThinning.Thin(series.Steps, series.Values, Width);
            if (spec.LogScale)
            {
                values = [.. values.Select(Math.Log10)];
            }

            var scatter = plot.Add.Scatter(steps, values, palette.GetColor(series.Colour));
            scatter.LegendText = series.Label;
            // Solid lines only: Skia's SVG writer cannot express dash effects (it draws them solid and
            // complains on stderr), so curves differ by width and point shape instead.
            (scatter.LineWidth, scatter.MarkerSize, scatter.MarkerShape) = series.Style switch
            {
                SeriesStyle.Line => (1.5f, 0f, MarkerShape.FilledCircle),
                SeriesStyle.LineWithPoints => (1.5f, 6f, MarkerShape.FilledCircle),
                SeriesStyle.Points => (0f, 8f, MarkerShape.FilledCircle),
                _ => (1f, 7f, MarkerShape.OpenCircle),
            };
        }

        var labelled = new HashSet<string>(StringComparer.Ordinal);
        foreach (var marker in spec.Markers)
        {
            var line = plot.Add.VerticalLine(marker.Step, 1f, Colors.Crimson.WithAlpha(0.6));
            // One legend entry per kind of event, however many lines it has.
            if (labelled.Add(marker.Kind))
            {
                line.LegendText = marker.Kind;
            }
        }

        plot.Title(spec.Title);
        plot.XLabel("step");
        plot.YLabel(spec.LogScale ? spec.ValueLabel + " (log scale)" : spec.ValueLabel);
        var drawn = spec.Series.SelectMany(x => x.Values).ToList();
        if (spec.LogScale && drawn.Count > 0)
        {
            var ticks = new ScottPlot.TickGenerators.NumericManual();
            // Ticks within the data (the axis adds only a small margin); a flat curve or a lone point
            // gets ticks a little around it.
            var (low, high) = (drawn.Min(), drawn.Max());
            var flat = high / low < 1.05;
            foreach (var value in LogAxisTicks.For(flat ? low / 1.1 : low, flat ? high * 1.1 : high))
            {
                ticks.AddMajor(Math.Log10(value), value.ToString("G4", CultureInfo.InvariantCulture));
            }

            plot.Axes.Left.TickGenerator = ticks;
        }
        else
        {
            plot.Axes.Left.TickGenerator = new ScottPlot.TickGenerators.NumericAutomatic { LabelFormatter = Tick(drawn.DefaultIfEmpty().Max(Math.Abs)) };
        }

        plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericAutomatic { LabelFormatter = Tick(spec.Series.SelectMany(x => x.Steps).DefaultIfEmpty().Max()), IntegerTicksOnly = true };
        if (spec.Series.Count(s => s.Values.Count > 0) + labelled.Count > 1)
        {
            plot.ShowLegend(Alignment.UpperRight);
        }
        else
        {
            plot.HideLegend(); // the title already names a lone curve
        }

        if (_font is not null)
        {
            plot.Font.Set(_font);
        }

        var png = plot.GetImageBytes(Width, Height, ImageFormat.Png);
        var svg = plot.GetSvgXml(Width, Height);
        return new RenderedChart(spec, png, svg);
    }

    /// <summary>
    /// Tick labels without a culture's separators; an axis that reaches 10,000 (steps, tokens/s) counts
    /// in thousands on every tick, so one axis never mixes 5000 and 10k.
    /// </summary>
    private static Func<double, string> Tick(double largest) => largest >= 10_000
        ? value => value == 0 ? "0" : (value / 1000).ToString("0.##", CultureInfo.InvariantCulture) + "k"
        : value => value.ToString("G5", CultureInfo.InvariantCulture);
}
