namespace RnnCluster.Training.Numerics;

/// <summary>
/// The data a step trained on, for the numerical policy's log and ranges: cursor positions
/// [<see cref="FromCursor"/>, <see cref="ToCursor"/>) of its epoch (time rows of the streams, or task
/// batches) and a description of it in words ("rows [120, 155) of streams 0-7").
/// </summary>
internal sealed record StepData(long FromCursor, long ToCursor, string Description);

/// <summary>What <see cref="StepApplier.Apply"/> did: the step's number, the guard's verdict, and whether that makes a rollback due.</summary>
internal sealed record StepOutcome(long Number, StepVerdict Verdict, bool RollBack)
{
    public bool Applied => Verdict == StepVerdict.Apply;
}
