using System.Text;
using System.Text.Json;
using RnnCluster.Coordinator.Cli;
using RnnCluster.Tests.Cli;
using RnnCluster.Tests.Support;

namespace RnnCluster.Tests.Monitoring;

public sealed class TrainDashboardTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(120);

    [Fact]
    public async Task Train_with_dashboard_serves_the_running_state_of_its_workers()
    {
        using var dir = new TempDirectory();
        // The run pauses in its step-6 output line (the view hears of a step before the monitor) until this test
        // has read the state: what it reads is a run in progress, after step 5 and its validation.
        using var output = new PausingWriter(pauseAt: "step 6/");
        using var error = new StringWriter();
        var console = new CliConsole(output, error, IsInteractive: false);
        string[] args = ["train", "--run-dir", dir.Path, "--max-steps", "6", "--workers", "2", "--dashboard", "--set", "monitor.port=0", "--set", "training.eval-every-steps=5", .. CliRunner.TinyModel];
        var run = Task.Run(() => CliApp.RunAsync(args, console, CancellationToken.None));

        var paused = await Task.WhenAny(output.Paused, run).WaitAsync(Patience);
        Assert.True(paused == output.Paused, $"the run ended before step 6:\n{output}\n{error}");
        var address = output.Lines.Single(l => l.StartsWith("dashboard: ", StringComparison.Ordinal))["dashboard: ".Length..];
        Assert.Matches("^http://127\\.0\\.0\\.1:[0-9]+/$", address);
        using (var client = new HttpClient { BaseAddress = new Uri(address), Timeout = Patience })
        {
            using var state = JsonDocument.Parse(await client.GetStringAsync(new Uri("/api/state", UriKind.Relative)));
            var root = state.RootElement;
            Assert.Equal("training", root.GetProperty("state").GetString());
            Assert.Equal("parallel", root.GetProperty("run").GetProperty("mode").GetString());
            Assert.Equal(6, root.GetProperty("run").GetProperty("totalSteps").GetInt64());
            Assert.Equal([1L, 2, 3, 4, 5], root.GetProperty("train").GetProperty("step").EnumerateArray().Select(e => e.GetInt64()));
            Assert.Equal([5L], root.GetProperty("valid").GetProperty("step").EnumerateArray().Select(e => e.GetInt64()));
            Assert.False(string.IsNullOrWhiteSpace(root.GetProperty("sample").GetString()), "a sample of generated text after the validation");
            Assert.All(root.GetProperty("train").GetProperty("loss").EnumerateArray(), l => Assert.True(l.GetDouble() > 0));
            var members = root.GetProperty("members").EnumerateArray().ToArray();
            Assert.Equal(("coordinator", "local/coordinator", "up"), (members[0].GetProperty("role").GetString(), members[0].GetProperty("address").GetString(), members[0].GetProperty("state").GetString()));
            var workers = members.Where(m => m.GetProperty("role").GetString() == "worker").ToArray();
            Assert.Equal(["local/worker-0", "local/worker-1"], workers.Select(w => w.GetProperty("address").GetString()));
            Assert.All(workers, w => Assert.Equal("up", w.GetProperty("state").GetString()));
            Assert.Equal(1.0, workers.Sum(w => w.GetProperty("streamShare").GetDouble()), 9);
            Assert.Contains(root.GetProperty("events").EnumerateArray(), e => e.GetProperty("kind").GetString() == "generation");
            Assert.Equal(System.Net.HttpStatusCode.OK, (await client.GetAsync(new Uri("/ready", UriKind.Relative))).StatusCode);
        }

        output.Resume();
        var code = await run.WaitAsync(Patience);
        Assert.True(code == CliApp.ExitOk, $"exit {code}\n{output}\n{error}");
        // The plain view's start line names the dashboard too.
        Assert.Contains(output.Lines, l => l.StartsWith("training ", StringComparison.Ordinal) && l.EndsWith($"; dashboard {address}", StringComparison.Ordinal));
    }

    /// <summary>Collects lines; the first line starting with <c>pauseAt</c> blocks its writer until <see cref="Resume"/>.</summary>
    private sealed class PausingWriter(string pauseAt) : TextWriter
    {
        private readonly Lock _gate = new();
        private readonly StringBuilder _current = new();
        private readonly List<string> _lines = [];
        private readonly TaskCompletionSource _paused = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly ManualResetEventSlim _resume = new();

        public override Encoding Encoding => Encoding.UTF8;

        public Task Paused => _paused.Task;

        public IReadOnlyList<string> Lines
        {
            get
            {
                lock (_gate)
                {
                    return [.. _lines];
                }
            }
        }

        public void Resume() => _resume.Set();

        public override void Write(char value)
        {
            string? line = null;
            lock (_gate)
            {
                if (value == '\n')
                {
                    line = _current.ToString().TrimEnd('\r');
                    _current.Clear();
                    _lines.Add(line);
                }
                else
                {
                    _current.Append(value);
                }
            }

            if (line is not null && line.StartsWith(pauseAt, StringComparison.Ordinal) && _paused.TrySetResult())
            {
                // The test resumes within its own timeout; this one only keeps a broken test from hanging forever.
                _resume.Wait(Patience);
            }
        }

        public override string ToString() => string.Join('\n', Lines);

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                _resume.Dispose();
            }

            base.Dispose(disposing);
        }
    }
}
