using System.Globalization;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace RnnCluster.Training;

/// <summary>
/// Appends one JSON object per line to <c>metrics.jsonl</c>: a "train" line every log interval and a
/// "valid"/"test" line per evaluation. Lines are written through to the OS as they come so a crash keeps
/// what was logged. A line that cannot be written (a full disk, an I/O error) is dropped, never half-kept:
/// the file is cut back to its last whole line, the first drop is logged and the return of writing too.
/// A metrics line is never worth a run: a full disk ends it through the checkpoint policy
/// (<c>checkpoint.on-failure</c>), not through a trainer or coordinator crash and restart.
/// </summary>
public sealed class MetricsLog : IDisposable
{
    private readonly string _path;
    private readonly ILogger? _logger;

    // Unbuffered: a failed write leaves nothing queued that a later flush or Dispose would retry.
    private readonly FileStream _file;

    // A failed checkpoint is reported from the background commit while the training thread writes steps.
    private readonly Lock _gate = new();

    // Bytes of whole lines on disk: where a failed write is cut back to.
    private long _length;
    private long _dropped;

    public MetricsLog(string path, bool append, ILogger? logger = null)
    {
        _path = path;
        _logger = logger;
        _file = new FileStream(path, append ? FileMode.OpenOrCreate : FileMode.Create, FileAccess.Write, FileShare.Read, bufferSize: 0);
        _length = _file.Seek(0, SeekOrigin.End);
    }

    /// <summary>Lines dropped since writing last worked (0 while it works).</summary>
    public long DroppedLines
    {
        get
        {
            lock (_gate)
            {
                return _dropped;
            }
        }
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
            _file.Dispose();
        }
    }

    // JSON has no NaN/Infinity: write them as strings so the line stays valid JSON.
    private static string Num(double value) =>
        double.IsFinite(value) ? value.ToString("R", CultureInfo.InvariantCulture) : $"\"{value.ToString(CultureInfo.InvariantCulture)}\"";

    private static string Text(string value) => $"\"{JsonEncodedText.Encode(value)}\"";

    private void Line(string json)
    {
        var bytes = Encoding.UTF8.GetBytes(json + "\n");
        lock (_gate)
        {
            try
            {
                _file.Write(bytes);
                _length += bytes.Length;
            }
            catch (IOException e)
            {
                Drop(e);
                return;
            }

            if (_dropped > 0)
            {
                TrainingLog.MetricsWritingAgain(_logger ?? NullLogger.Instance, _path, _dropped);
                _dropped = 0;
            }
        }
    }

    private void Drop(IOException error)
    {
        _dropped++;
        if (_dropped == 1)
        {
            TrainingLog.MetricsLineDropped(_logger ?? NullLogger.Instance, _path, error.Message);
        }

        try
        {
            // Shrinking needs no space: the part of the line that did reach the disk goes.
            _file.SetLength(_length);
            _file.Seek(_length, SeekOrigin.Begin);
        }
        catch (IOException)
        {
            // The next line tries again from the same whole-line length.
        }
    }
}
