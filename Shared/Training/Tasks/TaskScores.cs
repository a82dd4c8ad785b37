namespace RnnCluster.Training.Tasks;

/// <summary>
/// The figures of a task evaluation beyond loss and accuracy (which <see cref="EvaluationResult"/> has:
/// label accuracy for acceptors, token accuracy for transducers, teacher-forced token accuracy for
/// encoder–decoders): macro-F1 over the labels of an acceptor; exact match and the mean token edit
/// distance of an encoder–decoder's decoded outputs.
/// </summary>
public sealed record TaskScores(int Examples, double? MacroF1, double? ExactMatch, double? EditDistance)
{
    /// <summary>The figures that are set, by their JSON names.</summary>
    public IReadOnlyList<(string Name, double Value)> Named()
    {
        var named = new List<(string, double)>();
        if (MacroF1 is { } f1)
        {
            named.Add(("macroF1", f1));
        }

        if (ExactMatch is { } exact)
        {
            named.Add(("exactMatch", exact));
        }

        if (EditDistance is { } distance)
        {
            named.Add(("editDistance", distance));
        }

        return named;
    }
}
