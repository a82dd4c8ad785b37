using System.Globalization;

namespace RnnCluster.Tests.Monitoring;

/// <summary>The samples of a Prometheus text exposition: metric name, labels, value.</summary>
internal sealed class PrometheusText
{
    private readonly List<(string Name, Dictionary<string, string> Labels, double Value)> _samples = [];

    public IEnumerable<string> Names => _samples.Select(s => s.Name).Distinct();

    public static PrometheusText Parse(string text)
    {
        var parsed = new PrometheusText();
        foreach (var raw in text.Split('\n'))
        {
            var line = raw.Trim();
            if (line.Length == 0 || line.StartsWith('#'))
            {
                continue;
            }

            var labels = new Dictionary<string, string>();
            string name;
            string rest;
            var brace = line.IndexOf('{', StringComparison.Ordinal);
            var space = line.IndexOf(' ', StringComparison.Ordinal);
            if (brace >= 0 && brace < space)
            {
                var close = line.IndexOf('}', brace);
                name = line[..brace];
                foreach (var pair in SplitLabels(line[(brace + 1)..close]))
                {
                    var eq = pair.IndexOf('=', StringComparison.Ordinal);
                    labels[pair[..eq]] = pair[(eq + 1)..].Trim('"');
                }

                rest = line[(close + 1)..].Trim();
            }
            else
            {
                name = line[..space];
                rest = line[space..].Trim();
            }

            var value = rest.Split(' ')[0];
            parsed._samples.Add((name, labels, value switch
            {
                "NaN" => double.NaN,
                "+Inf" => double.PositiveInfinity,
                "-Inf" => double.NegativeInfinity,
                _ => double.Parse(value, CultureInfo.InvariantCulture),
            }));
        }

        return parsed;
    }

    /// <summary>The one sample of <paramref name="name"/> with these labels (and any others).</summary>
    public double Value(string name, params (string Key, string Value)[] labels)
    {
        var matches = _samples.Where(s => s.Name == name && labels.All(l => s.Labels.TryGetValue(l.Key, out var v) && v == l.Value)).ToList();
        Assert.True(matches.Count == 1, $"{matches.Count} samples of {name} {string.Join(",", labels)}; names: {string.Join(" ", Names)}");
        return matches[0].Value;
    }

    private static IEnumerable<string> SplitLabels(string labels)
    {
        // Values are quoted and may hold commas: split on commas outside quotes.
        var start = 0;
        var quoted = false;
        for (var i = 0; i < labels.Length; i++)
        {
            if (labels[i] == '"' && (i == 0 || labels[i - 1] != '\\'))
            {
                quoted = !quoted;
            }
            else if (labels[i] == ',' && !quoted)
            {
                yield return labels[start..i];
                start = i + 1;
            }
        }

        if (start < labels.Length)
        {
            yield return labels[start..];
        }
    }
}
