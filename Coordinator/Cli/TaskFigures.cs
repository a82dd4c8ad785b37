using System.Globalization;
using RnnCluster.Data.Tasks;

namespace RnnCluster.Coordinator.Cli;

/// <summary>One line of a task evaluation's figures, as <c>train</c> and <c>eval</c> print them.</summary>
internal static class TaskFigures
{
    public static string Line(string split, double? loss, double? accuracy, IReadOnlyDictionary<string, double>? scores, TaskKind kind)
    {
        if (loss is not { } l)
        {
            return $"{split}: not evaluated";
        }

        var accuracyName = kind switch
        {
            TaskKind.Acceptor => "accuracy",
            TaskKind.Transducer => "token accuracy",
            _ => "teacher-forced token accuracy",
        };
        var parts = new List<string> { string.Create(CultureInfo.InvariantCulture, $"loss {l:F4}"), string.Create(CultureInfo.InvariantCulture, $"{accuracyName} {accuracy:P2}") };
        if (scores is not null && scores.TryGetValue("macroF1", out var f1))
        {
            parts.Add(string.Create(CultureInfo.InvariantCulture, $"macro-F1 {f1:F4}"));
        }

        if (scores is not null && scores.TryGetValue("exactMatch", out var exact))
        {
            parts.Add(string.Create(CultureInfo.InvariantCulture, $"exact match {exact:P2}"));
        }

        if (scores is not null && scores.TryGetValue("editDistance", out var distance))
        {
            parts.Add(string.Create(CultureInfo.InvariantCulture, $"token edit distance {distance:F3}"));
        }

        return $"{split}: {string.Join(", ", parts)}";
    }
}
