using System.Globalization;
using System.Text;
using System.Text.Json;

namespace RnnCluster.Training;

/// <summary>
/// Appends one JSON object per line to <c>metrics.jsonl</c>: a "train" line every log interval and a
/// "valid"/"test" line per evaluation. Lines are flushed as written so a crash keeps what was logged.
/// </summary>
public sealed class MetricsLog : IDisposable
{
    private readonly StreamWriter _writer;

    // A failed checkpoint is reported from the background commit while the training thread writes steps.
    private readonly Lock _gate = new();

    public MetricsLog(string path, bool append)
    {
        _writer = new StreamWriter(path, append, new UTF8Encoding(false)) { AutoFlush = true };
    }

    public void Train(long step, int epoch, double loss, double learningRate, double gradientNorm, double tokensPerSecond, double elapsedSeconds) =>
        Line($"{{\"kind\":\"train\",\"step\":{step},\"epoch\":{epoch},\"loss\":{Num(loss)},\"ppl\":{Num(Math.Exp(loss))},\"lr\":{Num(learningRate)},\"gradNorm\":{Num(gradientNorm)},\"tokensPerSecond\":{Num(tokensPerSecond)},\"elapsedSeconds\":{Num(elapsedSeconds)}}}");

    public void Evaluation(EvaluationReport report)
    {
        ArgumentNullException.ThrowIfNull(report);
        var r = report.Result;
        var scores = r.Scores is { } task ? string.Concat(task.Named().Select(n => $",\"{n.Name}\":{Num(n.Value)}")) : string.Empty;
        Line($"{{\"kind\":\"{report.Split}\",\"step\":{report.Step},\"epoch\":{report.Epoch},\"loss\":{Num(r.Loss)},\"ppl\":{Num(r.Perplexity)},\"bitsPerToken\":{Num(r.BitsPerToken)},\"accuracy\":{Num(r.Accuracy)}{scores},\"tokens\":{r.Tokens}}}");
    }

    /// <summary>A step the numerical policy skipped: its verdict, loss and norm as they came, and the data that produced them.</summary>
    public void Skipped(long step, int epoch, string reason, double loss, double gradientNorm, long fromCursor, long toCursor, string data, int inARow) =>
        Line($"{{\"kind\":\"skipped\",\"step\":{step},\"epoch\":{epoch},\"reason\":\"{reason}\",\"loss\":{Num(loss)},\"gradNorm\":{Num(gradientNorm)},\"fromCursor\":{fromCursor},\"toCursor\":{toCursor},\"data\":\"{data}\",\"inARow\":{inARow}}}");

    /// <summary>A rollback to <paramref name="checkpointStep"/>'s checkpoint, and the range of epoch <paramref name="epoch"/> it skips.</summary>
    public void RolledBack(long step, long checkpointStep, int epoch, long fromCursor, long toCursor, string reason) =>
        Line($"{{\"kind\":\"rollback\",\"step\":{step},\"checkpointStep\":{checkpointStep},\"epoch\":{epoch},\"fromCursor\":{fromCursor},\"toCursor\":{toCursor},\"reason\":\"{reason}\"}}");

    /// <summary>A checkpoint that could not be written, recorded when the commit failed (not at the next checkpoint).</summary>
    public void CheckpointFailed(long step, string directory, string error, int failures) =>
        Line($"{{\"kind\":\"checkpoint-failed\",\"step\":{step},\"directory\":{Text(directory)},\"error\":{Text(error)},\"failures\":{failures}}}");

    public void Dispose()
    {
        lock (_gate)
        {
            _writer.Dispose();
        }
    }

    // JSON has no NaN/Infinity: write them as strings so the line stays valid JSON.
    private static string Num(double value) =>
        double.IsFinite(value) ? value.ToString("R", CultureInfo.InvariantCulture) : $"\"{value.ToString(CultureInfo.InvariantCulture)}\"";

    private static string Text(string value) => $"\"{JsonEncodedText.Encode(value)}\"";

    private void Line(string json)
    {
        lock (_gate)
        {
            _writer.WriteLine(json);
        }
    }
}
