namespace RnnCluster.Data.Tasks;

/// <summary>
/// One split of a task, encoded: example i has source ids <c>Sources[i]</c> and, by kind, a label id
/// <c>Labels[i]</c> (acceptor), one tag id per source token <c>Targets[i]</c> (transducer), or target
/// ids <c>Targets[i]</c> without &lt;bos&gt; or &lt;eos&gt; (encoder–decoder). Arrays are shared with
/// batches, never copied per batch; nothing may write to them after construction.
/// </summary>
public sealed class TaskSplit
{
    public TaskSplit(TaskKind kind, string name, int[][] sources, int[]? labels, int[][]? targets)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(sources);
        switch (kind)
        {
            case TaskKind.Acceptor:
                ArgumentNullException.ThrowIfNull(labels);
                RequireCount(labels.Length, sources.Length, nameof(labels));
                break;
            case TaskKind.Transducer:
            case TaskKind.EncoderDecoder:
                ArgumentNullException.ThrowIfNull(targets);
                RequireCount(targets.Length, sources.Length, nameof(targets));
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(kind), kind, "A task split is an acceptor, transducer or encoder-decoder split.");
        }

        for (var i = 0; i < sources.Length; i++)
        {
            ArgumentNullException.ThrowIfNull(sources[i], nameof(sources));
            if (sources[i].Length == 0)
            {
                throw new ArgumentException($"Example {i} of {name} has an empty source.", nameof(sources));
            }

            if (targets is not null)
            {
                ArgumentNullException.ThrowIfNull(targets[i], nameof(targets));
                if (kind == TaskKind.Transducer && targets[i].Length != sources[i].Length)
                {
                    throw new ArgumentException($"Example {i} of {name} has {sources[i].Length} tokens but {targets[i].Length} tags.", nameof(targets));
                }
            }
        }

        Kind = kind;
        Name = name;
        Sources = sources;
        Labels = kind == TaskKind.Acceptor ? labels : null;
        Targets = kind == TaskKind.Acceptor ? null : targets;
    }

    public TaskKind Kind { get; }

    /// <summary>What the split is called in messages: a file path, or "builtin:reverse (valid)".</summary>
    public string Name { get; }

    public int[][] Sources { get; }

    /// <summary>Class id per example (acceptor only).</summary>
    public int[]? Labels { get; }

    /// <summary>Tag ids (transducer) or target ids (encoder–decoder) per example.</summary>
    public int[][]? Targets { get; }

    public int Count => Sources.Length;

    /// <summary>Source tokens over all examples.</summary>
    public long SourceTokens => Sources.Sum(s => (long)s.Length);

    private static void RequireCount(int count, int expected, string name)
    {
        if (count != expected)
        {
            throw new ArgumentException($"{expected} sources but {count} {name}.", name);
        }
    }
}
