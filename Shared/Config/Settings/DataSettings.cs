namespace RnnCluster.Config;

/// <summary><c>data.*</c>: corpus, tokenisation, splits and batching.</summary>
public sealed record DataSettings
{
    public static DataSettings Default { get; } = new();

    /// <summary>A file, a directory holding train.txt/valid.txt/test.txt, or builtin:NAME.</summary>
    public string Path { get; init; } = "builtin:agreement";

    public TokenizerKind Tokenizer { get; init; } = TokenizerKind.Word;

    /// <summary>Tokens seen fewer times become the unknown token.</summary>
    public int MinCount { get; init; } = 1;

    public InvalidUtf8Policy InvalidUtf8 { get; init; } = InvalidUtf8Policy.Error;

    /// <summary>Share of a single-file corpus held out for validation.</summary>
    public double ValidFraction { get; init; } = 0.1;

    /// <summary>Share of a single-file corpus held out for testing.</summary>
    public double TestFraction { get; init; } = 0.1;

    public int BatchSize { get; init; } = 20;

    public int EvalBatchSize { get; init; } = 10;

    /// <summary>Truncated-BPTT window length in tokens.</summary>
    public int Bptt { get; init; } = 35;

    public bool RandomBptt { get; init; }

    /// <summary>What the files hold: auto (builtin/fetched data sets know; text files are a language-model corpus) or a task kind.</summary>
    public DataTaskKind Task { get; init; } = DataTaskKind.Auto;

    /// <summary>Tokens of encoder–decoder targets in user files (data.tokenizer covers texts and sources).</summary>
    public TokenizerKind TargetTokenizer { get; init; } = TokenizerKind.Word;

    /// <summary>Longest sequence of a task example in tokens; 0 = no limit.</summary>
    public int MaxLength { get; init; } = 256;

    public LengthPolicy MaxLengthPolicy { get; init; } = LengthPolicy.Truncate;

    /// <summary>Batches per length-sorting pool (K) of the bucketing batcher.</summary>
    public int BucketPool { get; init; } = 50;

    /// <summary>Cache of fetched data sets; empty = $RNNCLUSTER_DATA, else ~/.cache/rnncluster/datasets.</summary>
    public string Dir { get; init; } = string.Empty;

    public BuiltinCorpusSettings Builtin { get; init; } = BuiltinCorpusSettings.Default;

    public static DataSettings Bind(ConfigSection section)
    {
        ArgumentNullException.ThrowIfNull(section);
        var settings = new DataSettings
        {
            Path = section.GetString("path", Default.Path, p => p.Trim().Length > 0, "expected a non-empty path or builtin:NAME"),
            Tokenizer = section.GetEnum("tokenizer", Default.Tokenizer, SettingNames.Tokenizers),
            MinCount = section.GetInt("min-count", Default.MinCount, ValueRange.AtLeast(1)),
            InvalidUtf8 = section.GetEnum("invalid-utf8", Default.InvalidUtf8, SettingNames.InvalidUtf8Policies),
            ValidFraction = section.GetDouble("valid-fraction", Default.ValidFraction, ValueRange.Fraction),
            TestFraction = section.GetDouble("test-fraction", Default.TestFraction, ValueRange.Fraction),
            BatchSize = section.GetInt("batch-size", Default.BatchSize, ValueRange.AtLeast(1)),
            EvalBatchSize = section.GetInt("eval-batch-size", Default.EvalBatchSize, ValueRange.AtLeast(1)),
            Bptt = section.GetInt("bptt", Default.Bptt, ValueRange.AtLeast(1)),
            RandomBptt = section.GetBoolean("random-bptt", Default.RandomBptt),
            Task = section.GetEnum("task", Default.Task, SettingNames.DataTasks),
            TargetTokenizer = section.GetEnum("target-tokenizer", Default.TargetTokenizer, SettingNames.Tokenizers),
            MaxLength = section.GetInt("max-length", Default.MaxLength, ValueRange.NonNegative),
            MaxLengthPolicy = section.GetEnum("max-length-policy", Default.MaxLengthPolicy, SettingNames.LengthPolicies),
            BucketPool = section.GetInt("bucket-pool", Default.BucketPool, ValueRange.AtLeast(1)),
            Dir = section.GetString("dir", Default.Dir),
            Builtin = section.Bind("builtin", BuiltinCorpusSettings.Bind),
        };

        // Something must be left to train on.
        if (settings.ValidFraction + settings.TestFraction >= 1)
        {
            throw section.Error(
                "test-fraction",
                $"{section.PathOf("valid-fraction")} + {section.PathOf("test-fraction")} must be less than 1, but "
                + $"{section.Describe("valid-fraction", settings.ValidFraction)} and "
                + $"{section.Describe("test-fraction", settings.TestFraction)}");
        }

        return settings;
    }

    public void Write(HoconWriter writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        writer.Write("path", Path);
        writer.WriteName("tokenizer", SettingNames.Tokenizers.ToName(Tokenizer));
        writer.Write("min-count", MinCount);
        writer.WriteName("invalid-utf8", SettingNames.InvalidUtf8Policies.ToName(InvalidUtf8));
        writer.Write("valid-fraction", ValidFraction);
        writer.Write("test-fraction", TestFraction);
        writer.Write("batch-size", BatchSize);
        writer.Write("eval-batch-size", EvalBatchSize);
        writer.Write("bptt", Bptt);
        writer.Write("random-bptt", RandomBptt);
        writer.WriteName("task", SettingNames.DataTasks.ToName(Task));
        writer.WriteName("target-tokenizer", SettingNames.Tokenizers.ToName(TargetTokenizer));
        writer.Write("max-length", MaxLength);
        writer.WriteName("max-length-policy", SettingNames.LengthPolicies.ToName(MaxLengthPolicy));
        writer.Write("bucket-pool", BucketPool);
        writer.Write("dir", Dir);
        writer.Section("builtin", Builtin.Write);
    }
}
