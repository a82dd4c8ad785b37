using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace RnnCluster.Tests.Cluster.Processes;

/// <summary>
/// One cluster node as a separate OS process (<c>dotnet rnncluster.dll …</c> or <c>rnncluster-worker.dll</c>),
/// with its stdout and stderr captured line by line so a test can await what it says, and POSIX
/// signals for the failure tests (SIGKILL, SIGSTOP/SIGCONT, SIGTERM).
/// </summary>
internal sealed partial class NodeProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly Lock _gate = new();
    private readonly List<string> _lines = [];
    private readonly List<(Func<string, bool> Match, TaskCompletionSource<string> Found)> _waiters = [];

    private NodeProcess(string name, Process process)
    {
        Name = name;
        _process = process;
    }

    public string Name { get; }

    public int Id => _process.Id;

    public bool HasExited => _process.HasExited;

    /// <summary>Set by <see cref="LocalCluster"/>: the tails of the other nodes' output, for failure messages.</summary>
    public Func<string>? Neighbours { get; set; }

    /// <summary>This node's whole output, then the others' tails: a failure in CI shows every side of it.</summary>
    public string Report => Neighbours is { } others ? $"{Output}\n{others()}" : Output;

    /// <summary>The last <paramref name="lines"/> lines of output other than step progress lines.</summary>
    public string Tail(int lines)
    {
        lock (_gate)
        {
            var events = _lines.Where(l => StepOf(l) < 0).ToList();
            return string.Join('\n', events.Skip(Math.Max(0, events.Count - lines)));
        }
    }

    public string Output
    {
        get
        {
            lock (_gate)
            {
                return string.Join('\n', _lines);
            }
        }
    }

    public static NodeProcess Start(string name, string assembly, IEnumerable<string> arguments, string workingDirectory, IReadOnlyDictionary<string, string>? environment = null)
    {
        var info = new ProcessStartInfo("dotnet")
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        info.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, assembly));
        foreach (var (key, value) in environment ?? new Dictionary<string, string>())
        {
            info.Environment[key] = value;
        }

        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        var process = new Process { StartInfo = info, EnableRaisingEvents = true };
        var node = new NodeProcess(name, process);
        process.OutputDataReceived += (_, e) => node.Add(e.Data);
        process.ErrorDataReceived += (_, e) => node.Add(e.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return node;
    }

    /// <summary>A TCP port that was free a moment ago (the OS picks it).</summary>
    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>Waits for the first line (already printed or still to come) that matches.</summary>
    public async Task<string> WaitForLineAsync(Func<string, bool> match, TimeSpan timeout, string what)
    {
        TaskCompletionSource<string> found;
        lock (_gate)
        {
            if (_lines.FirstOrDefault(match) is { } line)
            {
                return line;
            }

            found = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
            _waiters.Add((match, found));
        }

        // A process that has exited prints nothing more: fail at once instead of at the timeout. (Awaited,
        // not a blocked pool thread per wait: a 2-core machine has few to spare.)
        using var stopWatchingExit = new CancellationTokenSource();
        var exited = _process.WaitForExitAsync(stopWatchingExit.Token);
        var first = await Task.WhenAny(found.Task, exited).WaitAsync(timeout).ContinueWith(t => t.IsCompletedSuccessfully ? t.Result : null, TaskScheduler.Default);
        await stopWatchingExit.CancelAsync();
        if (first == found.Task || found.Task.IsCompleted)
        {
            return await found.Task;
        }

        throw new TimeoutException(first is null
            ? $"{Name} did not print {what} within {timeout.TotalSeconds} s. Its output:\n{Report}"
            : $"{Name} exited (code {_process.ExitCode}) without printing {what}. Its output:\n{Report}");
    }

    public Task<string> WaitForLineAsync(string contains, TimeSpan timeout) =>
        WaitForLineAsync(l => l.Contains(contains, StringComparison.Ordinal), timeout, $"'{contains}'");

    /// <summary>The step number of a coordinator progress line (<c>step 12/300 …</c>), or -1 for any other line.</summary>
    public static int StepOf(string line)
    {
        if (!line.StartsWith("step ", StringComparison.Ordinal))
        {
            return -1;
        }

        var slash = line.IndexOf('/', StringComparison.Ordinal);
        return slash > 5 && int.TryParse(line.AsSpan(5, slash - 5), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var step) ? step : -1;
    }

    /// <summary>The highest step number printed so far (-1 before the first).</summary>
    public int LastStep()
    {
        lock (_gate)
        {
            return _lines.Select(StepOf).DefaultIfEmpty(-1).Max();
        }
    }

    public int CountLines(string contains)
    {
        lock (_gate)
        {
            return _lines.Count(l => l.Contains(contains, StringComparison.Ordinal));
        }
    }

    public async Task<int> WaitForExitAsync(TimeSpan timeout)
    {
        try
        {
            await _process.WaitForExitAsync().WaitAsync(timeout);
        }
        catch (TimeoutException)
        {
            throw new TimeoutException($"{Name} did not exit within {timeout.TotalSeconds} s. Its output:\n{Report}");
        }

        // WaitForExit (no timeout) also waits for the redirected streams to reach their end.
        _process.WaitForExit();
        return _process.ExitCode;
    }

    public void Kill() => _process.Kill(entireProcessTree: false);

    public void Pause() => Signal(Sigstop);

    public void Resume() => Signal(Sigcont);

    public void Terminate() => Signal(Sigterm);

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            Signal(Sigcont);
            _process.Kill();
            await _process.WaitForExitAsync();
        }

        _process.Dispose();
    }

    private const int Sigterm = 15;
    private const int Sigcont = 18;
    private const int Sigstop = 19;

    private void Signal(int signal)
    {
        if (SendSignal(_process.Id, signal) != 0)
        {
            throw new InvalidOperationException($"kill({_process.Id}, {signal}) failed: errno {Marshal.GetLastPInvokeError()}");
        }
    }

    private void Add(string? line)
    {
        if (line is null)
        {
            return;
        }

        List<TaskCompletionSource<string>> done = [];
        lock (_gate)
        {
            _lines.Add(line);
            for (var i = _waiters.Count - 1; i >= 0; i--)
            {
                if (_waiters[i].Match(line))
                {
                    done.Add(_waiters[i].Found);
                    _waiters.RemoveAt(i);
                }
            }
        }

        foreach (var tcs in done)
        {
            tcs.TrySetResult(line);
        }
    }

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int SendSignal(int pid, int signal);
}
