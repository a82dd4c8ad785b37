using System.Diagnostics;
using System.Threading.Channels;
using RnnCluster.Actors;

namespace RnnCluster.TestKit;

/// <summary>
/// An actor whose inbox the test reads: send to <see cref="Ref"/>, then await expectations. Waits use
/// real time (never the system's <see cref="TimeProvider"/>, which a test may drive by hand), with
/// defaults from <see cref="TestKitSettings"/>. Inside <see cref="WithinAsync(TimeSpan, Func{Task})"/>
/// the default becomes the time left in the block. Use one probe from one test flow at a time.
/// </summary>
public sealed class TestProbe
{
    private readonly Channel<ReceivedMessage> _inbox =
        Channel.CreateUnbounded<ReceivedMessage>(new UnboundedChannelOptions { SingleReader = true });

    private readonly AsyncLocal<long?> _withinDeadline = new();
    private ReceivedMessage? _last;

    internal TestProbe(ActorSystem system, string name)
    {
        Ref = system.SystemActorOf(Props.Create(() => new ProbeActor(_inbox.Writer)), name);
    }

    public IActorRef Ref { get; }

    /// <summary>The sender of the last message an expectation returned.</summary>
    /// <exception cref="TestKitAssertionException">Nothing has been received yet.</exception>
    public IActorRef LastSender => _last?.Sender ?? throw new TestKitAssertionException("No message has been received yet, so there is no sender.");

    /// <summary>Alias of <see cref="LastSender"/>, as in Akka.</summary>
    public IActorRef Sender => LastSender;

    /// <summary>Sends <paramref name="message"/> to <paramref name="target"/> with this probe as the sender.</summary>
    public void Send(IActorRef target, object message)
    {
        ArgumentNullException.ThrowIfNull(target);
        target.Tell(message, Ref);
    }

    /// <summary>Replies to <see cref="LastSender"/> with this probe as the sender.</summary>
    public void Reply(object message) => LastSender.Tell(message, Ref);

    /// <summary>Forwards to <paramref name="target"/> keeping the original sender of the last message.</summary>
    public void Forward(IActorRef target, object message)
    {
        ArgumentNullException.ThrowIfNull(target);
        target.Tell(message, LastSender);
    }

    /// <summary>Asks the probe's actor to watch <paramref name="target"/>; its Terminated arrives in this probe.</summary>
    public IActorRef Watch(IActorRef target)
    {
        ArgumentNullException.ThrowIfNull(target);
        Ref.Tell(new ProbeActor.WatchCommand(target), null);
        return target;
    }

    public IActorRef Unwatch(IActorRef target)
    {
        ArgumentNullException.ThrowIfNull(target);
        Ref.Tell(new ProbeActor.UnwatchCommand(target), null);
        return target;
    }

    /// <summary>
    /// The next message must be a <typeparamref name="T"/> (satisfying <paramref name="predicate"/>, if given)
    /// and arrive within <paramref name="timeout"/>.
    /// </summary>
    public async Task<T> ExpectMsgAsync<T>(
        Func<T, bool>? predicate = null,
        TimeSpan? timeout = null,
        string? hint = null,
        CancellationToken cancellationToken = default)
    {
        var wait = Resolve(timeout);
        var expected = predicate is null ? typeof(T).Name : $"{typeof(T).Name} matching the predicate";
        var received = await ReceiveOneAsync(wait, cancellationToken).ConfigureAwait(false)
            ?? throw Failure($"Expected {expected} within {Format(wait)}, but no message arrived", hint);
        if (received.Message is not T typed)
        {
            throw Failure($"Expected {expected}, but received {received}", hint);
        }

        if (predicate is not null && !predicate(typed))
        {
            throw Failure($"Expected {expected}, but received {received}, which does not match", hint);
        }

        _last = received;
        return typed;
    }

    /// <summary>The next message must equal <paramref name="expected"/>.</summary>
    public Task<T> ExpectMsgAsync<T>(T expected, TimeSpan? timeout = null, string? hint = null, CancellationToken cancellationToken = default)
        where T : notnull =>
        ExpectMsgAsync<T>(m => EqualityComparer<T>.Default.Equals(m, expected), timeout, hint ?? $"equal to {expected}", cancellationToken);

    /// <summary>No message may arrive for <paramref name="duration"/> (default <see cref="TestKitSettings.DefaultNoMessageDuration"/>).</summary>
    public async Task ExpectNoMsgAsync(TimeSpan? duration = null, string? hint = null, CancellationToken cancellationToken = default)
    {
        var wait = duration is { } d ? TestKitSettings.Dilated(d) : TestKitSettings.DefaultNoMessageDuration;
        var received = await ReceiveOneAsync(wait, cancellationToken).ConfigureAwait(false);
        if (received is not null)
        {
            throw Failure($"Expected no message for {Format(wait)}, but received {received}", hint);
        }
    }

    /// <summary>The next message must be <see cref="Terminated"/> for <paramref name="target"/> (which must be watched).</summary>
    public Task<Terminated> ExpectTerminatedAsync(IActorRef target, TimeSpan? timeout = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(target);
        return ExpectMsgAsync<Terminated>(t => ReferenceEquals(t.ActorRef, target) || t.ActorRef.Path.Equals(target.Path), timeout, $"Terminated of {target.Path}", cancellationToken);
    }

    /// <summary>Skips messages until a <typeparamref name="T"/> satisfying <paramref name="isTarget"/> arrives.</summary>
    public async Task<T> FishForMessageAsync<T>(
        Func<T, bool> isTarget,
        TimeSpan? timeout = null,
        string? hint = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(isTarget);
        var wait = Resolve(timeout);
        var deadline = Stopwatch.GetTimestamp() + (long)(wait.TotalSeconds * Stopwatch.Frequency);
        var skipped = new List<ReceivedMessage>();
        while (true)
        {
            var left = TimeSpan.FromSeconds(Math.Max(0, deadline - Stopwatch.GetTimestamp()) / (double)Stopwatch.Frequency);
            var received = await ReceiveOneAsync(left, cancellationToken).ConfigureAwait(false);
            if (received is null)
            {
                var seen = skipped.Count == 0 ? "nothing" : string.Join("; ", skipped.TakeLast(5)) + (skipped.Count > 5 ? $" (last 5 of {skipped.Count})" : "");
                throw Failure($"Fished for {typeof(T).Name} for {Format(wait)} without a match; skipped {seen}", hint);
            }

            if (received.Message is T typed && isTarget(typed))
            {
                _last = received;
                return typed;
            }

            skipped.Add(received);
        }
    }

    /// <summary>The next message, whatever it is; <c>null</c> when none arrives in time.</summary>
    public async Task<ReceivedMessage?> ReceiveOneAsync(TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        if (_inbox.Reader.TryRead(out var ready))
        {
            return ready;
        }

        if (timeout <= TimeSpan.Zero)
        {
            return null;
        }

        using var timer = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timer.CancelAfter(timeout);
        try
        {
            return await _inbox.Reader.ReadAsync(timer.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return null;
        }
        catch (ChannelClosedException)
        {
            return null;
        }
    }

    /// <summary>
    /// <paramref name="body"/> must finish within <paramref name="max"/> (dilated); expectations inside it
    /// default to the time left.
    /// </summary>
    public async Task WithinAsync(TimeSpan max, Func<Task> body)
    {
        ArgumentNullException.ThrowIfNull(body);
        await WithinAsync(max, async () =>
        {
            await body().ConfigureAwait(false);
            return true;
        }).ConfigureAwait(false);
    }

    public async Task<T> WithinAsync<T>(TimeSpan max, Func<Task<T>> body)
    {
        ArgumentNullException.ThrowIfNull(body);
        var limit = TestKitSettings.Dilated(max);
        var start = Stopwatch.GetTimestamp();
        var outer = _withinDeadline.Value;
        _withinDeadline.Value = start + (long)(limit.TotalSeconds * Stopwatch.Frequency);
        try
        {
            var result = await body().ConfigureAwait(false);
            var elapsed = Stopwatch.GetElapsedTime(start);
            if (elapsed > limit)
            {
                throw Failure($"The block took {Format(elapsed)}, more than the allowed {Format(limit)}", null);
            }

            return result;
        }
        finally
        {
            _withinDeadline.Value = outer;
        }
    }

    private TimeSpan Resolve(TimeSpan? timeout)
    {
        if (timeout is { } explicitTimeout)
        {
            return TestKitSettings.Dilated(explicitTimeout);
        }

        if (_withinDeadline.Value is { } deadline)
        {
            var left = (deadline - Stopwatch.GetTimestamp()) / (double)Stopwatch.Frequency;
            return TimeSpan.FromSeconds(Math.Max(0, left));
        }

        return TestKitSettings.DefaultTimeout;
    }

    private TestKitAssertionException Failure(string what, string? hint) =>
        new($"{what}{(hint is null ? "" : $" [hint: {hint}]")} (probe {Ref.Path}).");

    private static string Format(TimeSpan span) => $"{span.TotalMilliseconds:0} ms";
}
