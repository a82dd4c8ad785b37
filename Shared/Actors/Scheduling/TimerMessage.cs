namespace RnnCluster.Actors.Scheduling;

/// <summary>
/// What a timer actually enqueues. The generation lets the owner recognise a message from a timer
/// that was cancelled or replaced after it fired, and drop it.
/// </summary>
internal sealed record TimerMessage(object Key, long Generation, TimerScheduler Owner);
