using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using RnnCluster.Monitoring;
using RnnCluster.Tests.Support;

namespace RnnCluster.Tests.Monitoring;

public sealed class MonitorServerTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task The_state_is_column_oriented_json_with_the_documented_fields()
    {
        var monitor = ScriptedRun.Monitor(new ManualTimeProvider());
        monitor.OnStart(ScriptedRun.Start());
        monitor.OnStep(ScriptedRun.Step(1));
        monitor.OnStep(ScriptedRun.Step(2) with { GradientNorm = double.NaN });
        monitor.OnEvaluation(ScriptedRun.Valid(2, 3.25));
        monitor.OnCheckpoint("/runs/test/checkpoints/step-000002", 2, isBest: true);
        monitor.MembersChanged([ScriptedRun.Worker(0, MemberStates.Up, stepMs: 12.5)]);
        monitor.StepTimes(new StepSplit(10, 2, 1));
        monitor.OnSample(2, "the cat runs");
        await using var server = await StartAsync(monitor);
        using var client = Client(server);

        using var state = JsonDocument.Parse(await client.GetStringAsync(new Uri("/api/state", UriKind.Relative)));
        var root = state.RootElement;
        Assert.Equal(
            ["run", "state", "step", "epoch", "generation", "lastCheckpoint", "lastError", "train", "valid", "members", "events", "split", "sample"],
            root.EnumerateObject().Select(p => p.Name));
        var run = root.GetProperty("run");
        Assert.Equal(["runDirectory", "task", "mode", "parameters", "totalSteps", "stepsPerEpoch", "startedUnix"], run.EnumerateObject().Select(p => p.Name));
        Assert.Equal("parallel", run.GetProperty("mode").GetString());
        Assert.Equal(1234, run.GetProperty("parameters").GetInt64());
        Assert.Equal(1735689600.0, run.GetProperty("startedUnix").GetDouble());
        Assert.Equal("training", root.GetProperty("state").GetString());
        Assert.Equal(2, root.GetProperty("step").GetInt64());
        Assert.Equal(1, root.GetProperty("epoch").GetInt32());
        var train = root.GetProperty("train");
        Assert.Equal(["step", "unix", "loss", "lr", "gradNorm", "tokensPerSecond"], train.EnumerateObject().Select(p => p.Name));
        Assert.Equal([1L, 2], train.GetProperty("step").EnumerateArray().Select(e => e.GetInt64()));
        Assert.Equal([10.0, 5.0], train.GetProperty("loss").EnumerateArray().Select(e => e.GetDouble()));
        Assert.Equal([JsonValueKind.Number, JsonValueKind.Null], train.GetProperty("gradNorm").EnumerateArray().Select(e => e.ValueKind));
        Assert.Equal(3.25, root.GetProperty("valid").GetProperty("loss")[0].GetDouble());
        Assert.Equal("/runs/test/checkpoints/step-000002", root.GetProperty("lastCheckpoint").GetProperty("path").GetString());
        Assert.True(root.GetProperty("lastCheckpoint").GetProperty("best").GetBoolean());
        Assert.Equal(JsonValueKind.Null, root.GetProperty("lastError").ValueKind);
        var member = Assert.Single(root.GetProperty("members").EnumerateArray());
        Assert.Equal(["index", "role", "address", "state", "incarnation", "stepMs", "streamShare"], member.EnumerateObject().Select(p => p.Name));
        Assert.Equal("local/worker-0", member.GetProperty("address").GetString());
        Assert.Equal(12.5, member.GetProperty("stepMs").GetDouble());
        Assert.Equal(["checkpoint", "member"], root.GetProperty("events").EnumerateArray().Select(e => e.GetProperty("kind").GetString()));
        Assert.Equal(10, root.GetProperty("split").GetProperty("computeMs").GetDouble());
        Assert.Equal("the cat runs", root.GetProperty("sample").GetString());
    }

    [Fact]
    public async Task The_event_stream_starts_with_the_state_and_then_carries_each_update()
    {
        var monitor = ScriptedRun.Monitor(new ManualTimeProvider());
        monitor.OnStart(ScriptedRun.Start());
        monitor.OnStep(ScriptedRun.Step(1));
        await using var server = await StartAsync(monitor);
        using var client = Client(server);
        using var timeout = new CancellationTokenSource(Patience);

        using (var events = await EventStream.OpenAsync(client, timeout.Token))
        {
            Assert.Equal("text/event-stream", events.MediaType);
            var first = await events.NextAsync(timeout.Token);
            Assert.Equal("state", first.Name);
            using (var state = JsonDocument.Parse(first.Data))
            {
                Assert.Equal(1, state.RootElement.GetProperty("step").GetInt64());
            }

            monitor.OnStep(ScriptedRun.Step(2));
            monitor.OnEvaluation(ScriptedRun.Valid(2, 4.5));
            monitor.Failure("worker 1 timed out");
            var step = await events.NextAsync(timeout.Token);
            Assert.Equal("step", step.Name);
            Assert.Equal("""{"step":2,"epoch":1,"unix":1735689600,"loss":5,"lr":0.5,"gradNorm":0.2,"tokensPerSecond":2000}""", step.Data);
            var valid = await events.NextAsync(timeout.Token);
            Assert.Equal(("valid", """{"step":2,"unix":1735689600,"loss":4.5}"""), (valid.Name, valid.Data));
            var failure = await events.NextAsync(timeout.Token);
            Assert.Equal(("event", """{"unix":1735689600,"step":2,"kind":"failure","text":"worker 1 timed out"}"""), (failure.Name, failure.Data));
            Assert.Equal(1, monitor.FollowerCount);
        }

        // The client went: its subscription is freed.
        await Conditions.AwaitAsync(() => monitor.FollowerCount == 0, Patience, "the subscription was freed");
    }

    [Fact]
    public async Task Stopping_the_server_ends_its_event_streams_at_once()
    {
        var monitor = ScriptedRun.Monitor(new ManualTimeProvider());
        var server = await StartAsync(monitor);
        using var client = Client(server);
        using var timeout = new CancellationTokenSource(Patience);
        using var events = await EventStream.OpenAsync(client, timeout.Token);
        Assert.Equal("state", (await events.NextAsync(timeout.Token)).Name);

        // Kestrel waits for open requests when it stops: a stream that ignored the stop would hold it for its whole shutdown timeout.
        var started = TimeProvider.System.GetTimestamp();
        await server.DisposeAsync();
        Assert.True(TimeProvider.System.GetElapsedTime(started) < TimeSpan.FromSeconds(10), "the server stopped without waiting for the stream");
        await Assert.ThrowsAnyAsync<Exception>(() => events.NextAsync(timeout.Token));
        Assert.Equal(0, monitor.FollowerCount);
    }

    [Fact]
    public async Task A_quiet_event_stream_gets_a_heartbeat_comment()
    {
        var time = new ManualTimeProvider();
        var monitor = ScriptedRun.Monitor(time);
        await using var server = await StartAsync(monitor);
        using var client = Client(server);
        using var timeout = new CancellationTokenSource(Patience);
        using var events = await EventStream.OpenAsync(client, timeout.Token);
        Assert.Equal("state", (await events.NextAsync(timeout.Token)).Name);

        // The server arms its heartbeat timer on our clock once it waits for updates.
        await Conditions.AwaitAsync(() => time.ActiveTimerCount > 0, Patience, "the heartbeat timer is armed");
        time.Advance(MonitorServer.DefaultHeartbeat);
        Assert.Equal(": heartbeat", await events.NextCommentAsync(timeout.Token));
    }

    [Fact]
    public async Task Metrics_are_served_in_prometheus_text_with_our_names_and_the_scripted_values()
    {
        var time = new ManualTimeProvider();
        var monitor = ScriptedRun.Monitor(time);
        monitor.OnStart(ScriptedRun.Start());
        monitor.MembersChanged([ScriptedRun.Worker(0, MemberStates.Up), ScriptedRun.Worker(1, MemberStates.Unreachable)]);
        for (var step = 1; step <= 4; step++)
        {
            monitor.OnStep(ScriptedRun.Step(step));
        }

        monitor.OnEvaluation(ScriptedRun.Valid(4, 2.0));
        monitor.OnCheckpoint("/runs/test/checkpoints/step-000004", 4, isBest: false);
        monitor.GenerationStarted(2, "worker unreachable");
        monitor.StepTimes(new StepSplit(20, 3, 1), new Dictionary<int, double> { [0] = 21 });
        time.Advance(TimeSpan.FromSeconds(12));
        await using var server = await StartAsync(monitor);
        using var client = Client(server);

        using var response = await client.GetAsync(new Uri("/metrics", UriKind.Relative));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.StartsWith("text/plain", response.Content.Headers.ContentType?.MediaType, StringComparison.Ordinal);
        var samples = PrometheusText.Parse(await response.Content.ReadAsStringAsync());

        Assert.Equal(4, samples.Value("rnncluster_step"));
        Assert.Equal(4000, samples.Value("rnncluster_tokens_per_second"));
        Assert.Equal(2.5, samples.Value("rnncluster_loss", ("split", "train")));
        Assert.Equal(2.0, samples.Value("rnncluster_loss", ("split", "valid")));
        Assert.Equal(Math.Exp(2.0), samples.Value("rnncluster_perplexity", ("split", "valid")), 9);
        Assert.Equal(2.0 / Math.Log(2), samples.Value("rnncluster_bits_per_token", ("split", "valid")), 9);
        Assert.Equal(0.5, samples.Value("rnncluster_learning_rate"));
        Assert.Equal(0.4, samples.Value("rnncluster_gradient_norm"));
        Assert.Equal(20, samples.Value("rnncluster_step_time_milliseconds", ("phase", "compute")));
        Assert.Equal(3, samples.Value("rnncluster_step_time_milliseconds", ("phase", "communication")));
        Assert.Equal(1, samples.Value("rnncluster_step_time_milliseconds", ("phase", "apply")));
        Assert.Equal(21, samples.Value("rnncluster_worker_step_time_milliseconds", ("worker", "local/worker-0")));
        Assert.Equal(2, samples.Value("rnncluster_generation"));
        Assert.Equal(1, samples.Value("rnncluster_members", ("state", "up")));
        Assert.Equal(1, samples.Value("rnncluster_members", ("state", "unreachable")));
        Assert.Equal(0, samples.Value("rnncluster_members", ("state", "lost")));
        Assert.Equal(12, samples.Value("rnncluster_checkpoint_age_seconds"));
    }

    [Fact]
    public async Task Ready_answers_200_only_while_training_and_status_tells_where_the_run_is()
    {
        var monitor = ScriptedRun.Monitor(new ManualTimeProvider());
        await using var server = await StartAsync(monitor);
        using var client = Client(server);

        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync(new Uri("/alive", UriKind.Relative))).StatusCode);
        using (var before = await client.GetAsync(new Uri("/ready", UriKind.Relative)))
        {
            Assert.Equal(HttpStatusCode.ServiceUnavailable, before.StatusCode);
            Assert.Equal("not ready: waiting\n", await before.Content.ReadAsStringAsync());
        }

        monitor.OnStart(ScriptedRun.Start());
        monitor.OnStep(ScriptedRun.Step(1));
        monitor.GenerationStarted(1, "workers registered");
        monitor.Error("checkpoint write failed: disk full");
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync(new Uri("/ready", UriKind.Relative))).StatusCode);
        using (var status = JsonDocument.Parse(await client.GetStringAsync(new Uri("/status", UriKind.Relative))))
        {
            var root = status.RootElement;
            Assert.Equal("training", root.GetProperty("state").GetString());
            Assert.Equal(1, root.GetProperty("step").GetInt64());
            Assert.Equal(1, root.GetProperty("generation").GetInt32());
            Assert.Equal(JsonValueKind.Array, root.GetProperty("members").ValueKind);
            Assert.Equal(JsonValueKind.Null, root.GetProperty("lastCheckpoint").ValueKind);
            Assert.Equal("checkpoint write failed: disk full", root.GetProperty("lastError").GetString());
        }

        monitor.Finished();
        using var after = await client.GetAsync(new Uri("/ready", UriKind.Relative));
        Assert.Equal(HttpStatusCode.ServiceUnavailable, after.StatusCode);
        Assert.Equal("not ready: finished\n", await after.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task A_port_in_use_is_one_warning_naming_it_and_no_server()
    {
        using var taken = new TcpListener(IPAddress.Loopback, 0);
        taken.Start();
        var port = ((IPEndPoint)taken.LocalEndpoint).Port;
        var logs = new CapturingLoggerProvider();
        using var loggerFactory = LoggerFactory.Create(b => b.AddProvider(logs).SetMinimumLevel(LogLevel.Debug));

        var server = await MonitorServer.TryStartAsync(ScriptedRun.Monitor(new ManualTimeProvider()), new MonitorServerOptions("127.0.0.1", port) { MeterName = UniqueMeter() }, loggerFactory, CancellationToken.None);

        Assert.Null(server);
        var warning = Assert.Single(logs.Entries, e => e.Level >= LogLevel.Warning);
        Assert.Equal(6000, warning.EventId.Id);
        Assert.Contains(string.Create(CultureInfo.InvariantCulture, $"127.0.0.1:{port} is in use"), warning.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_dashboard_is_served_from_embedded_resources_with_entity_tags()
    {
        var monitor = ScriptedRun.Monitor(new ManualTimeProvider());
        await using var server = await StartAsync(monitor, new DashboardAssets(typeof(MonitorServerTests).Assembly));
        using var client = Client(server);

        using var page = await client.GetAsync(new Uri("/", UriKind.Relative));
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        Assert.Equal("text/html", page.Content.Headers.ContentType?.MediaType);
        Assert.Contains("test dashboard", await page.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        var tag = page.Headers.ETag;
        Assert.NotNull(tag);
        Assert.False(tag.IsWeak);

        using var script = await client.GetAsync(new Uri("/assets/app.js", UriKind.Relative));
        Assert.Equal(HttpStatusCode.OK, script.StatusCode);
        Assert.Equal("text/javascript", script.Content.Headers.ContentType?.MediaType);

        using var again = new HttpRequestMessage(HttpMethod.Get, new Uri("/", UriKind.Relative));
        again.Headers.IfNoneMatch.Add(tag);
        using var revalidated = await client.SendAsync(again);
        Assert.Equal(HttpStatusCode.NotModified, revalidated.StatusCode);

        foreach (var missing in new[] { "/assets/nothing.js", "/assets/", "/nowhere" })
        {
            using var response = await client.GetAsync(new Uri(missing, UriKind.Relative));
            Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        }
    }

    [Fact]
    public void Asset_paths_with_dot_segments_or_empty_segments_find_nothing()
    {
        var assets = new DashboardAssets(typeof(MonitorServerTests).Assembly);
        Assert.NotNull(assets.Find("app.js"));
        Assert.All(new[] { "../app.js", "./app.js", "x/../app.js", "/app.js", string.Empty }, p => Assert.Null(assets.Find(p)));
    }

    [Fact]
    public async Task Without_built_assets_the_page_says_so()
    {
        // CoreLib has no dashboard resources.
        await using var server = await StartAsync(ScriptedRun.Monitor(new ManualTimeProvider()), new DashboardAssets(typeof(object).Assembly));
        using var client = Client(server);

        using var page = await client.GetAsync(new Uri("/", UriKind.Relative));
        Assert.Equal(HttpStatusCode.NotFound, page.StatusCode);
        Assert.Equal("dashboard assets not built\n", await page.Content.ReadAsStringAsync());
    }

    internal static string UniqueMeter() => $"RnnCluster.Test.{Guid.NewGuid():N}";

    private static Task<MonitorServer> StartAsync(RunMonitor monitor, DashboardAssets? assets = null) =>
        MonitorServer.StartAsync(monitor, new MonitorServerOptions("127.0.0.1", 0) { Assets = assets ?? new DashboardAssets(typeof(object).Assembly), MeterName = UniqueMeter() }, Microsoft.Extensions.Logging.Abstractions.NullLoggerFactory.Instance, CancellationToken.None);

    private static HttpClient Client(MonitorServer server) => new() { BaseAddress = server.Address, Timeout = Patience };
}
