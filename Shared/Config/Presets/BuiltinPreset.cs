namespace RnnCluster.Config;

/// <summary>
/// The recommended settings of one built-in corpus or task: what makes <c>train --data builtin:NAME</c>
/// reach its documented result with no <c>--set</c>. A preset only fills keys that neither the
/// <c>--config</c> file nor <c>--set</c> (nor <c>RNNCLUSTER_SET</c>) gives, so explicit settings always win.
/// </summary>
public sealed record BuiltinPreset(string Data, string Result, IReadOnlyList<KeyValuePair<string, string>> Settings)
{
    private static readonly KeyValuePair<string, string>[] NoDropout =
    [
        new("model.dropout.embedding", "0"),
        new("model.dropout.between-layers", "0"),
        new("model.dropout.output", "0"),
    ];

    /// <summary>Small encoders trained with Adam: what the task results in the README were measured with.</summary>
    private static readonly KeyValuePair<string, string>[] SmallTask =
    [
        new("model.layers", "1"),
        new("model.hidden-size", "32"),
        new("model.embedding-size", "32"),
        .. NoDropout,
        new("data.builtin.sentences", "2000"),
        new("data.batch-size", "32"),
        new("training.optimizer", "adam"),
        new("training.learning-rate", "0.01"),
        new("training.clip-norm", "1"),
        new("training.schedule", "constant"),
    ];

    /// <summary>Every preset; <c>builtin:agreement</c>'s recommended settings are the built-in defaults themselves.</summary>
    public static IReadOnlyList<BuiltinPreset> All { get; } =
    [
        new("builtin:agreement", "validation perplexity ~9.7 after 6 epochs (the defaults are this corpus's settings)", []),
        new(
            "builtin:parity",
            "100% test accuracy on 20-bit sequences after 3 epochs",
            [
                new("data.builtin.sentences", "2000"),
                new("model.layers", "1"),
                new("model.hidden-size", "32"),
                new("model.embedding-size", "8"),
                .. NoDropout,
                new("training.optimizer", "adam"),
                new("training.learning-rate", "0.01"),
                new("training.clip-norm", "1"),
                new("training.schedule", "constant"),
                new("training.epochs", "3"),
                new("data.bptt", "10"),
                new("data.batch-size", "10"),
            ]),
        new("builtin:agreement-number", ">= 99% test accuracy after 3 epochs", SmallTaskWith(("model.bidirectional", "true"), ("model.pooling", "last"), ("training.epochs", "3"))),
        new("builtin:tagging", ">= 99% token accuracy after 2 epochs", SmallTaskWith(("model.bidirectional", "true"), ("training.epochs", "2"))),
        new(
            "builtin:reverse",
            ">= 90% exact match after 3 epochs",
            SmallTaskWith(("model.bidirectional", "false"), ("model.hidden-size", "128"), ("data.builtin.sentences", "8000"), ("training.epochs", "3"))),
    ];

    /// <summary><see cref="SmallTask"/> with some keys replaced or added (each key once, in the order first given).</summary>
    private static KeyValuePair<string, string>[] SmallTaskWith(params (string Key, string Value)[] changes)
    {
        var merged = SmallTask.ToList();
        foreach (var (key, value) in changes)
        {
            var at = merged.FindIndex(s => s.Key == key);
            if (at >= 0)
            {
                merged[at] = new(key, value);
            }
            else
            {
                merged.Add(new(key, value));
            }
        }

        return [.. merged];
    }

    /// <summary>The preset of <paramref name="data"/> (a <c>data.path</c>), if it names a built-in corpus or task.</summary>
    public static BuiltinPreset? For(string data) => All.FirstOrDefault(p => string.Equals(p.Data, data.Trim(), StringComparison.Ordinal));

    /// <summary>One line for banners and <c>--help</c>: <c>key=value, …</c>.</summary>
    public static string Describe(IEnumerable<KeyValuePair<string, string>> settings) =>
        string.Join(", ", settings.Select(s => $"{s.Key}={s.Value}"));
}
