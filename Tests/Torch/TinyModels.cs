using RnnCluster.Model;
using RnnCluster.Torch;

namespace RnnCluster.Tests.Torch;

/// <summary>Small models and windows shared by the model tests.</summary>
internal static class TinyModels
{
    public static ModelOptions Options(CellKind cell, Precision precision = Precision.Float64, int vocab = 7, int layers = 2) =>
        new(new ModelArchitecture(cell, layers, EmbeddingSize: 3, HiddenSize: 4, VocabularySize: vocab, TieWeights: false))
        {
            Precision = precision,
            Seed = 42,
            InitRange = 0.5,
        };

    /// <summary>A deterministic time-major window of ids in [0, vocab).</summary>
    public static long[] Ids(int steps, int streams, int vocab, int salt)
    {
        var ids = new long[steps * streams];
        for (var i = 0; i < ids.Length; i++)
        {
            ids[i] = ((i * 5) + (salt * 3) + (i / streams)) % vocab;
        }

        return ids;
    }
}
