namespace RnnCluster.Actors.Dispatch;

internal enum EnqueueOutcome
{
    Enqueued,
    Full,
    Closed,
}
