namespace RnnCluster.Model;

/// <summary>Recurrent cell kinds, named as in the configuration (<c>lstm</c>, <c>gru</c>, <c>rnn_tanh</c>, <c>rnn_relu</c>).</summary>
public enum CellKind
{
    Lstm = 0,
    Gru = 1,
    RnnTanh = 2,
    RnnRelu = 3,
}

/// <summary>
/// Everything that fixes the shape of a model's parameters. Two checkpoints are compatible exactly
/// when their architectures are equal; <see cref="Differences"/> lists the fields that are not, so a
/// refused resume can say why. Dropout and initialisation are training settings, not architecture.
/// </summary>
public sealed record ModelArchitecture(
    CellKind Cell,
    int Layers,
    int EmbeddingSize,
    int HiddenSize,
    int VocabularySize,
    bool TieWeights)
{
    /// <summary>Names and values of the fields that differ, as "field: this vs other".</summary>
    public IReadOnlyList<string> Differences(ModelArchitecture other)
    {
        ArgumentNullException.ThrowIfNull(other);
        var diffs = new List<string>();
        void Check<T>(string name, T a, T b)
        {
            if (!EqualityComparer<T>.Default.Equals(a, b))
            {
                diffs.Add($"{name}: {a} vs {b}");
            }
        }

        Check("cell", CellNames.ToConfigName(Cell), CellNames.ToConfigName(other.Cell));
        Check("layers", Layers, other.Layers);
        Check("embedding-size", EmbeddingSize, other.EmbeddingSize);
        Check("hidden-size", HiddenSize, other.HiddenSize);
        Check("vocabulary-size", VocabularySize, other.VocabularySize);
        Check("tie-weights", TieWeights, other.TieWeights);
        return diffs;
    }
}

/// <summary>Configuration spelling of <see cref="CellKind"/>.</summary>
public static class CellNames
{
    public static string ToConfigName(CellKind cell) => cell switch
    {
        CellKind.Lstm => "lstm",
        CellKind.Gru => "gru",
        CellKind.RnnTanh => "rnn_tanh",
        CellKind.RnnRelu => "rnn_relu",
        _ => throw new ArgumentOutOfRangeException(nameof(cell), cell, "Unknown cell kind."),
    };

    public static bool TryParse(string text, out CellKind cell)
    {
        switch (text)
        {
            case "lstm": cell = CellKind.Lstm; return true;
            case "gru": cell = CellKind.Gru; return true;
            case "rnn_tanh": cell = CellKind.RnnTanh; return true;
            case "rnn_relu": cell = CellKind.RnnRelu; return true;
            default: cell = default; return false;
        }
    }
}
