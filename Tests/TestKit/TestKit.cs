using System.Globalization;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using RnnCluster.Actors;

namespace RnnCluster.TestKit;

/// <summary>
/// Owns an <see cref="ActorSystem"/> for one test, a default probe (<see cref="TestActor"/>) and
/// captured logs. <c>await using var kit = new TestKit();</c> terminates the system at the end.
/// </summary>
public sealed class TestKit : IAsyncDisposable
{
    private readonly ILoggerFactory? _ownedLoggerFactory;
    private int _probes;
    private TestProbe? _testActor;

    /// <param name="options">System options; the default uses the real clock. Logs are always captured into <see cref="Logs"/>.</param>
    /// <param name="systemName">The actor system's name.</param>
    public TestKit(ActorSystemOptions? options = null, string systemName = "test")
    {
        options ??= new ActorSystemOptions();
        if (ReferenceEquals(options.LoggerFactory, NullLoggerFactory.Instance))
        {
            _ownedLoggerFactory = LoggerFactory.Create(builder => builder.SetMinimumLevel(LogLevel.Trace).AddProvider(Logs));
            options = options with { LoggerFactory = _ownedLoggerFactory };
        }
        else
        {
            options.LoggerFactory.AddProvider(Logs);
        }

        Sys = ActorSystem.Create(systemName, options);
    }

    public ActorSystem Sys { get; }

    public CapturingLoggerProvider Logs { get; } = new();

    /// <summary>A probe created on first use, for tests that need just one.</summary>
    public TestProbe TestActor => _testActor ??= CreateTestProbe("testActor");

    public TestProbe CreateTestProbe(string? name = null) =>
        new(Sys, name ?? "testProbe-" + Interlocked.Increment(ref _probes).ToString(CultureInfo.InvariantCulture));

    /// <summary>Subscribes a new probe to <typeparamref name="T"/> on the event stream.</summary>
    public TestProbe SubscribeProbe<T>()
    {
        var probe = CreateTestProbe();
        Sys.EventStream.Subscribe<T>(probe.Ref);
        return probe;
    }

    public Task<T> ExpectMsgAsync<T>(Func<T, bool>? predicate = null, TimeSpan? timeout = null, string? hint = null, CancellationToken cancellationToken = default) =>
        TestActor.ExpectMsgAsync(predicate, timeout, hint, cancellationToken);

    public Task ExpectNoMsgAsync(TimeSpan? duration = null, CancellationToken cancellationToken = default) =>
        TestActor.ExpectNoMsgAsync(duration, null, cancellationToken);

    public Task<Terminated> ExpectTerminatedAsync(IActorRef target, TimeSpan? timeout = null) =>
        TestActor.ExpectTerminatedAsync(target, timeout);

    public Task<T> FishForMessageAsync<T>(Func<T, bool> isTarget, TimeSpan? timeout = null) =>
        TestActor.FishForMessageAsync(isTarget, timeout);

    public Task WithinAsync(TimeSpan max, Func<Task> body) => TestActor.WithinAsync(max, body);

    public IActorRef Watch(IActorRef target) => TestActor.Watch(target);

    public async ValueTask DisposeAsync()
    {
        var limit = TestKitSettings.Dilated(TimeSpan.FromSeconds(10));
        try
        {
            await Sys.Terminate().WaitAsync(limit).ConfigureAwait(false);
        }
        catch (TimeoutException exception)
        {
            throw new TestKitAssertionException($"Actor system {Sys.Name} did not terminate within {limit.TotalSeconds:0.#} s.", exception);
        }
        finally
        {
            _ownedLoggerFactory?.Dispose();
        }
    }
}
