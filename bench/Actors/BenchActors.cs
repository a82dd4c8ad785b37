using RnnCluster.Actors;

namespace RnnCluster.Bench.Actors;

/// <summary>A ball bounces between two players until its hop count runs out.</summary>
internal sealed record Ball(int Remaining);

/// <summary>Completes when the last ball has landed, whichever player it lands with.</summary>
internal sealed class Finish(int balls)
{
    private int _landed;

    public TaskCompletionSource Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public void Landed()
    {
        if (Interlocked.Increment(ref _landed) == balls)
        {
            Done.TrySetResult();
        }
    }
}

internal sealed class Player : ReceiveActor
{
    public Player(Finish finish)
    {
        Receive<Ball>(ball =>
        {
            if (ball.Remaining > 1)
            {
                Sender.Tell(new Ball(ball.Remaining - 1));
            }
            else
            {
                finish.Landed();
            }
        });
    }
}

/// <summary>Counts what many producers send it and signals when all has arrived.</summary>
internal sealed class Sink : ReceiveActor
{
    public Sink(TaskCompletionSource done, long expected)
    {
        var received = 0L;
        Receive<int>(_ =>
        {
            if (++received == expected)
            {
                done.TrySetResult();
            }
        });
    }
}
