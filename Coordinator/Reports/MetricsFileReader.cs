using System.Globalization;
using System.Text.Json;

namespace RnnCluster.Coordinator.Reports;

/// <summary>
/// Reads a run's metrics.jsonl as <see cref="Training.MetricsLog"/> writes it: one JSON object per line
/// with a "kind". Train, valid and test lines are measurements; a kind that names a skip, a rollback or
/// a failure is an event; any other kind is counted and ignored, so a newer trainer's extra lines do
/// not break older reports. A line that is not what its kind promises stops the report with file:line.
/// </summary>
public static class MetricsFileReader
{
    /// <summary>Words that make a line kind an event (e.g. "skipped-step", "rollback", "checkpoint-failed").</summary>
    private static readonly string[] EventWords = ["skip", "rollback", "roll-back", "rolled-back", "fail"];

    /// <exception cref="ReportInputException">The file is empty, holds no measurements, or a line is malformed.</exception>
    public static RunMetrics Read(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        // A resumed run appends: the steps after its checkpoint are logged again, and the later line is
        // the one the final model went through, so it replaces the earlier one.
        var train = new SortedDictionary<long, TrainPoint>();
        var valid = new SortedDictionary<long, EvaluationPoint>();
        var test = new SortedDictionary<long, EvaluationPoint>();
        var events = new List<RunEvent>();
        var ignored = new SortedDictionary<string, int>(StringComparer.Ordinal);
        var number = 0;
        var anyLine = false;
        foreach (var text in File.ReadLines(path))
        {
            number++;
            if (string.IsNullOrWhiteSpace(text))
            {
                continue;
            }

            anyLine = true;
            var line = new Line(path, number);
            using var document = line.Parse(text);
            var root = document.RootElement;
            var kind = line.Kind(root);
            switch (kind)
            {
                case "train":
                    var step = line.Step(root, kind);
                    train[step] = new TrainPoint(
                        step,
                        line.Epoch(root),
                        line.Number(root, kind, "loss", required: true),
                        line.Number(root, kind, "lr"),
                        line.Number(root, kind, "gradNorm"),
                        line.Number(root, kind, "tokensPerSecond"),
                        line.Number(root, kind, "elapsedSeconds"));
                    break;
                case "valid" or "test":
                    var point = line.Evaluation(root, kind);
                    (kind == "valid" ? valid : test)[point.Step] = point;
                    break;
                default:
                    if (EventWords.Any(w => kind.Contains(w, StringComparison.OrdinalIgnoreCase)))
                    {
                        events.Add(line.Event(root, kind));
                    }
                    else
                    {
                        ignored[kind] = ignored.GetValueOrDefault(kind) + 1;
                    }

                    break;
            }
        }

        if (!anyLine)
        {
            throw new ReportInputException($"{path}: the file is empty (the run logged no step yet)");
        }

        if (train.Count == 0 && valid.Count == 0 && test.Count == 0)
        {
            var kinds = events.Select(e => e.Kind).Concat(ignored.Keys).Distinct(StringComparer.Ordinal);
            throw new ReportInputException($"{path}: no train, valid or test lines (kinds found: {string.Join(", ", kinds)})");
        }

        return new RunMetrics([.. train.Values], [.. valid.Values], [.. test.Values], events, ignored);
    }

    /// <summary>One line being read: every complaint about it starts with file:line.</summary>
    private readonly struct Line(string path, int number)
    {
        private static readonly HashSet<string> EvaluationFields = new(StringComparer.Ordinal) { "kind", "step", "epoch", "loss", "ppl", "bitsPerToken", "accuracy", "tokens" };

        public JsonDocument Parse(string text)
        {
            JsonDocument document;
            try
            {
                document = JsonDocument.Parse(text);
            }
            catch (JsonException e)
            {
                // The parser's own position names line 0 of the one-line text; say the column instead.
                var reason = e.Message.Split(" LineNumber:", 2)[0].TrimEnd();
                throw Fail($"not JSON at column {(e.BytePositionInLine ?? 0) + 1} ({reason})", e);
            }

            if (document.RootElement.ValueKind != JsonValueKind.Object)
            {
                var kind = document.RootElement.ValueKind;
                document.Dispose();
                throw Fail($"a JSON {Describe(kind)}, not an object");
            }

            return document;
        }

        public string Kind(JsonElement root) =>
            !root.TryGetProperty("kind", out var kind) ? throw Fail("no \"kind\"")
            : kind.ValueKind != JsonValueKind.String || string.IsNullOrWhiteSpace(kind.GetString()) ? throw Fail($"\"kind\" is {kind.GetRawText()}, not a name")
            : kind.GetString()!;

        public long Step(JsonElement root, string kind)
        {
            if (!root.TryGetProperty("step", out var step))
            {
                throw Fail($"a \"{kind}\" line has no \"step\"");
            }

            return step.ValueKind == JsonValueKind.Number && step.TryGetInt64(out var value) && value >= 0
                ? value
                : throw Fail($"\"step\" is {step.GetRawText()}, not a step number");
        }

        public int Epoch(JsonElement root) =>
            !root.TryGetProperty("epoch", out var epoch) || epoch.ValueKind == JsonValueKind.Null ? 0
            : epoch.ValueKind == JsonValueKind.Number && epoch.TryGetInt32(out var value) && value >= 0 ? value
            : throw Fail($"\"epoch\" is {epoch.GetRawText()}, not an epoch number");

        /// <summary>A number, or NaN/Infinity written as a string (JSON has neither); NaN when absent and optional.</summary>
        public double Number(JsonElement root, string kind, string name, bool required = false)
        {
            if (!root.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null)
            {
                return required ? throw Fail($"a \"{kind}\" line has no \"{name}\"") : double.NaN;
            }

            return TryNumber(value, out var result) ? result : throw Fail($"\"{name}\" is {value.GetRawText()}, not a number");
        }

        public EvaluationPoint Evaluation(JsonElement root, string kind)
        {
            var scores = new List<KeyValuePair<string, double>>();
            foreach (var property in root.EnumerateObject())
            {
                if (!EvaluationFields.Contains(property.Name) && TryNumber(property.Value, out var score))
                {
                    scores.Add(new(property.Name, score));
                }
            }

            return new EvaluationPoint(
                Step(root, kind),
                Number(root, kind, "loss", required: true),
                Number(root, kind, "ppl"),
                Number(root, kind, "bitsPerToken"),
                Number(root, kind, "accuracy"),
                scores);
        }

        public RunEvent Event(JsonElement root, string kind)
        {
            long? step = root.TryGetProperty("step", out var s) && s.ValueKind == JsonValueKind.Number && s.TryGetInt64(out var value) ? value : null;
            var details = string.Join(", ", root.EnumerateObject()
                .Where(p => p.Name is not ("kind" or "step"))
                .Select(p => $"{p.Name}={(p.Value.ValueKind == JsonValueKind.String ? p.Value.GetString() : p.Value.GetRawText())}"));
            const int longest = 400;
            return new RunEvent(number, kind, step, details.Length > longest ? details[..longest] + "…" : details);
        }

        private static bool TryNumber(JsonElement value, out double result)
        {
            switch (value.ValueKind)
            {
                case JsonValueKind.Number:
                    return value.TryGetDouble(out result);
                case JsonValueKind.String when value.GetString() is "NaN" or "Infinity" or "-Infinity":
                    result = double.Parse(value.GetString()!, CultureInfo.InvariantCulture);
                    return true;
                default:
                    result = double.NaN;
                    return false;
            }
        }

        private static string Describe(JsonValueKind kind) => kind switch
        {
            JsonValueKind.Array => "array",
            JsonValueKind.String => "string",
            JsonValueKind.Number => "number",
            JsonValueKind.True or JsonValueKind.False => "boolean",
            _ => "null",
        };

        private ReportInputException Fail(string what, Exception? inner = null) => new($"{path}:{number}: {what}", inner);
    }
}
