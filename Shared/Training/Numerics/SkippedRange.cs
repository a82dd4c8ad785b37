namespace RnnCluster.Training.Numerics;

/// <summary>
/// Data a rollback skipped: steps <see cref="FromStep"/>..<see cref="ToStep"/> were undone (the run went
/// back to the checkpoint after step <see cref="FromStep"/> − 1), and the windows (or task batches) of
/// epoch <see cref="Epoch"/> from cursor <see cref="FromCursor"/> up to, not including,
/// <see cref="ToCursor"/> are never trained on in that epoch. Kept in every later checkpoint's trainer.json.
/// </summary>
public sealed record SkippedRange(long FromStep, long ToStep, int Epoch, long FromCursor, long ToCursor, string Reason);
