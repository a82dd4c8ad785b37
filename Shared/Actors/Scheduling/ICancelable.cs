namespace RnnCluster.Actors;

/// <summary>A handle to scheduled work.</summary>
public interface ICancelable
{
    bool IsCancellationRequested { get; }

    /// <summary>Prevents future deliveries; a delivery already handed to a mailbox still arrives.</summary>
    void Cancel();
}
