using System.Text.Json;
using System.Text.Json.Nodes;
using RnnCluster.Data;
using RnnCluster.Data.Tasks;

namespace RnnCluster.Training.Tasks;

/// <summary>
/// The <c>vocab.json</c> of a task checkpoint: the task kind, the source vocabulary, and the target
/// vocabulary (encoder–decoder) or the labels or tags (acceptor, transducer), so a checkpoint alone can
/// read new inputs and name its outputs. A language model's <c>vocab.json</c> is a bare vocabulary.
/// <code>{ "task": "acceptor", "source": { "tokenizer": …, "tokens": […] }, "labels": ["plural", "singular"], "noun": "label" }</code>
/// </summary>
public static class TaskVocabularyFile
{
    private const string TaskProperty = "task";

    public static string ToJson(TaskVocabularies vocabularies)
    {
        ArgumentNullException.ThrowIfNull(vocabularies);
        var root = new JsonObject
        {
            [TaskProperty] = vocabularies.Kind.ToName(),
            ["source"] = JsonNode.Parse(vocabularies.Source.ToJson()),
        };
        if (vocabularies.Target is { } target)
        {
            root["target"] = JsonNode.Parse(target.ToJson());
        }

        if (vocabularies.Labels is { } labels)
        {
            root["labels"] = new JsonArray([.. labels.Labels.Select(l => (JsonNode?)JsonValue.Create(l))]);
            root["noun"] = labels.Noun;
        }

        return root.ToJsonString(new JsonSerializerOptions { WriteIndented = true });
    }

    /// <summary>Whether <paramref name="json"/> is a task checkpoint's vocabulary file (not a language model's).</summary>
    public static bool IsTask(string json)
    {
        ArgumentNullException.ThrowIfNull(json);
        try
        {
            return JsonNode.Parse(json) is JsonObject o && o.ContainsKey(TaskProperty);
        }
        catch (JsonException)
        {
            return false;
        }
    }

    public static TaskVocabularies FromJson(string json, string sourceName)
    {
        ArgumentNullException.ThrowIfNull(json);
        try
        {
            var root = JsonNode.Parse(json) as JsonObject ?? throw new DataException($"{sourceName}: expected a JSON object");
            var kindName = (string?)root[TaskProperty];
            if (!TaskKindNames.TryParse(kindName, out var kind) || kind == TaskKind.LanguageModel)
            {
                throw new DataException($"{sourceName}: unknown task \"{kindName}\"");
            }

            var source = Vocabulary.FromJson(root["source"]?.ToJsonString() ?? throw new DataException($"{sourceName}: missing \"source\""), sourceName);
            var target = root["target"] is { } t ? Vocabulary.FromJson(t.ToJsonString(), sourceName) : null;
            var labels = root["labels"] is JsonArray l ? LabelSet.Build(l.Select(x => (string?)x ?? string.Empty), (string?)root["noun"] ?? "label") : null;
            if ((kind == TaskKind.EncoderDecoder) != (target is not null) || (kind == TaskKind.EncoderDecoder) == (labels is not null))
            {
                throw new DataException($"{sourceName}: a {kind.ToName()} vocabulary file needs {(kind == TaskKind.EncoderDecoder ? "\"target\"" : "\"labels\"")}");
            }

            return new TaskVocabularies(kind, source, target, labels);
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or FormatException)
        {
            throw new DataException($"{sourceName}: invalid task vocabulary file: {e.Message}", e);
        }
    }

    /// <summary>One hash over everything the file fixes (the manifest's vocabulary hash of a task checkpoint).</summary>
    public static string Hash(TaskVocabularies vocabularies)
    {
        ArgumentNullException.ThrowIfNull(vocabularies);
        return VocabularyHash.Compute([vocabularies.Kind.ToName(), vocabularies.Source.Hash, vocabularies.Target?.Hash ?? string.Empty, vocabularies.Labels?.Hash ?? string.Empty]);
    }
}
