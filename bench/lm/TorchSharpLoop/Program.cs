// The plain TorchSharp word-LM training loop that bench/lm-benchmark.sh compares RnnCluster with: the
// loop a user would write from TorchSharp's examples (SequenceToSequence.cs) and PyTorch's
// word_language_model, nothing tuned. Model, data and step mirror bench/lm/pytorch_lm.py with dropout 0:
// Embedding -> nn.LSTM (multi-layer) -> Linear; the same tokens, vocabulary and streams (lm_data.py's
// rules); TBPTT with the state detached between windows; mean cross-entropy, clip_grad_norm_, SGD.
//
//   dotnet TorchSharpLoop.dll --data CORPUS_DIR [--layers 2 --hidden 200 --emsize 200 --batch 20
//       --bptt 35 --steps 300 --log-every 50 --threads N --precision fp32|bf16 --lr 20 --clip 0.25]
//   dotnet TorchSharpLoop.dll --peak [--threads N --peak-sizes 512,1024,2048,3072 --peak-seconds 0.25]
//
// Training prints each --log-every interval's tokens/s on stderr and one JSON line on stdout:
// tokens_per_s is the mean of the intervals after the first (warm-up). --peak prints the best torch.mm
// GFLOP/s for fp32 and bf16 over the square sizes. Run with OMP_WAIT_POLICY=PASSIVE in the environment
// (it must be set before the process starts; libgomp reads it once).
using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace RnnCluster.Bench.TorchSharpLoop;

/// <summary>Embedding -> stacked LSTM -> Linear; the field names give PyTorch's state_dict names.</summary>
internal sealed class RnnLm : Module<Tensor, (Tensor, Tensor), (Tensor, (Tensor, Tensor))>
{
    private readonly Embedding encoder;
    private readonly LSTM rnn;
    private readonly Linear decoder;

    public RnnLm(long vocab, long emsize, long hidden, long layers) : base(nameof(RnnLm))
    {
        encoder = Embedding(vocab, emsize);
        rnn = LSTM(emsize, hidden, layers);
        decoder = Linear(hidden, vocab);
        RegisterComponents();
        // pytorch_lm.py's initialisation: uniform encoder/decoder, zero decoder bias, forget gate bias 1.
        using var noGrad = torch.no_grad();
        init.uniform_(encoder.weight, -0.1, 0.1);
        init.uniform_(decoder.weight, -0.1, 0.1);
        init.zeros_(decoder.bias);
        for (var l = 0; l < layers; l++)
        {
            rnn.get_parameter($"bias_ih_l{l}")!.narrow(0, hidden, hidden).fill_(1.0);
            rnn.get_parameter($"bias_hh_l{l}")!.narrow(0, hidden, hidden).zero_();
        }
    }

    public override (Tensor, (Tensor, Tensor)) forward(Tensor input, (Tensor, Tensor) state)
    {
        var (output, h, c) = rnn.call(encoder.call(input), state);
        return (decoder.call(output), (h, c));
    }
}

internal static class Program
{
    private static int Main(string[] args)
    {
        var o = Options.Parse(args);
        if (o is null)
        {
            return 2;
        }
        torch.set_num_threads(o.Threads);
        return o.Peak ? Peak(o) : Train(o);
    }

    private static int Train(Options o)
    {
        torch.manual_seed(o.Seed);
        var tokens = Tokenize(Path.Combine(o.Data, "train.txt"));
        var vocabulary = BuildVocabulary(tokens);
        var (inputs, targets) = Batchify(Encode(tokens, vocabulary), o.Batch);
        var dtype = o.Precision == "bf16" ? ScalarType.BFloat16 : ScalarType.Float32;
        long vocab = vocabulary.Count, rows = inputs.shape[0], streams = inputs.shape[1];

        using var model = new RnnLm(vocab, o.Emsize, o.Hidden, o.Layers);
        model.to(dtype); // bf16: the naive way, every weight and activation in bfloat16
        using var optimizer = torch.optim.SGD(model.parameters(), o.Lr);
        Console.Error.WriteLine($"torchsharp {o.Precision}: vocabulary {vocab}, {streams} streams x {rows} steps, " +
            $"{model.parameters().Sum(p => p.numel()):N0} parameters, {torch.get_num_threads()} threads");

        model.train();
        (Tensor, Tensor) Zeros() => (zeros(o.Layers, streams, o.Hidden, dtype), zeros(o.Layers, streams, o.Hidden, dtype));
        var hidden = Zeros();
        long cursor = 0, intervalTokens = 0;
        double intervalLoss = 0;
        var intervals = new List<(int Step, double Loss, double TokensPerSecond)>();
        var clock = Stopwatch.StartNew();
        for (var step = 1; step <= o.Steps; step++)
        {
            using (var scope = torch.NewDisposeScope())
            {
                if (cursor >= rows) // epoch end: start over from a zero state
                {
                    cursor = 0;
                    hidden.Item1.Dispose();
                    hidden.Item2.Dispose();
                    hidden = Zeros();
                }
                var length = Math.Min(o.Bptt, rows - cursor);
                var x = inputs.narrow(0, cursor, length);
                var y = targets.narrow(0, cursor, length);
                cursor += length;

                optimizer.zero_grad();
                var (logits, (h, c)) = model.call(x, hidden);
                var loss = functional.cross_entropy(logits.reshape(-1, vocab), y.reshape(-1));
                loss.backward();
                torch.nn.utils.clip_grad_norm_(model.parameters(), o.Clip);
                optimizer.step();

                hidden.Item1.Dispose();
                hidden.Item2.Dispose();
                hidden = (h.detach().MoveToOuterDisposeScope(), c.detach().MoveToOuterDisposeScope());
                intervalLoss += loss.ToSingle() * y.numel();
                intervalTokens += y.numel();
            }
            if (step % o.LogEvery == 0)
            {
                var seconds = clock.Elapsed.TotalSeconds;
                intervals.Add((step, intervalLoss / intervalTokens, intervalTokens / seconds));
                Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"step {step}: loss {intervalLoss / intervalTokens:F4}, {intervalTokens / seconds:F0} tokens/s"));
                intervalLoss = 0;
                intervalTokens = 0;
                clock.Restart();
            }
        }
        hidden.Item1.Dispose();
        hidden.Item2.Dispose();

        var timed = intervals.Skip(1).ToList();
        Console.WriteLine(JsonSerializer.Serialize(new Dictionary<string, object>
        {
            ["implementation"] = "torchsharp-loop",
            ["precision"] = o.Precision,
            ["threads"] = torch.get_num_threads(),
            ["vocabulary"] = vocab,
            ["steps"] = o.Steps,
            ["tokens_per_s"] = timed.Average(i => i.TokensPerSecond),
            ["lastLoss"] = intervals[^1].Loss,
            ["intervals"] = intervals.Select(i => new { step = i.Step, loss = i.Loss, tokensPerSecond = i.TokensPerSecond }).ToList(),
        }));
        return 0;
    }

    /// <summary>
    /// Best torch.mm GFLOP/s (2 n^3 per call) per dtype over the square sizes. Per size: one untimed call,
    /// warm-up calls for about half of --peak-seconds, then 5 trials of k back-to-back calls (k sized so a trial lasts about --peak-seconds),
    /// each trial's time divided by k, the fastest trial kept. Two ways of calling: torch.mm, which
    /// allocates its result (large results come from fresh mmap'ed pages every call), and addmm_ with
    /// beta 0 into a preallocated result, the same GEMM without the allocation.
    /// </summary>
    private static int Peak(Options o)
    {
        var result = new Dictionary<string, object> { ["threads"] = torch.get_num_threads() };
        foreach (var (name, dtype) in new[] { ("fp32", ScalarType.Float32), ("bf16", ScalarType.BFloat16) })
        {
            var best = 0.0;
            var bySize = new Dictionary<string, object>();
            foreach (var n in o.PeakSizes)
            {
                using var scope = torch.NewDisposeScope();
                var a = randn(n, n, dtype);
                var b = randn(n, n, dtype);
                var c = empty(n, n, dtype);
                var mm = Time(() => { using var r = torch.mm(a, b); }, o.PeakSeconds);
                var into = Time(() => c.addmm_(a, b, beta: 0, alpha: 1), o.PeakSeconds);
                double flops = 2.0 * n * n * n, mmGflops = flops / mm / 1e9, intoGflops = flops / into / 1e9;
                bySize[n.ToString(CultureInfo.InvariantCulture)] = new { mm = Math.Round(mmGflops, 1), mm_into = Math.Round(intoGflops, 1) };
                best = Math.Max(best, Math.Max(mmGflops, intoGflops));
                Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"{name} {n}: mm {mmGflops:F1} GFLOP/s ({mm * 1e3:F2} ms/call), into a preallocated result {intoGflops:F1} GFLOP/s"));
            }
            result[$"{name}_gflops"] = Math.Round(best, 1);
            result[name] = bySize;
        }
        Console.WriteLine(JsonSerializer.Serialize(result));
        return 0;
    }

    /// <summary>Seconds per call of f: the fastest of 5 trials of k calls each, after warm-up.</summary>
    private static double Time(Action f, double trialSeconds)
    {
        f(); // the first call may create and JIT the kernel; not timed
        var clock = Stopwatch.StartNew();
        var warm = 0;
        while (warm < 1 || (clock.Elapsed.TotalSeconds < trialSeconds / 2 && warm < 50))
        {
            f();
            warm++;
        }
        var perCall = clock.Elapsed.TotalSeconds / warm;
        var k = Math.Max(1, (int)Math.Ceiling(trialSeconds / perCall));
        var best = double.MaxValue;
        for (var trial = 0; trial < 5; trial++)
        {
            clock.Restart();
            for (var i = 0; i < k; i++)
            {
                f();
            }
            best = Math.Min(best, clock.Elapsed.TotalSeconds / k);
        }
        return best;
    }

    // ---- data: lm_data.py's rules, so token counts, vocabulary and streams equal pytorch_lm.py's ----

    /// <summary>Word tokens of a UTF-8 file (BOM skipped), split on char.IsWhiteSpace, "&lt;eos&gt;" at each line end.</summary>
    private static List<string> Tokenize(string path)
    {
        var text = File.ReadAllText(path, new UTF8Encoding(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true));
        var tokens = new List<string>();
        if (text.Length == 0)
        {
            return tokens;
        }
        var lines = text.Split('\n');
        var count = text.EndsWith('\n') ? lines.Length - 1 : lines.Length;
        for (var i = 0; i < count; i++)
        {
            var line = lines[i].EndsWith('\r') ? lines[i][..^1] : lines[i];
            tokens.AddRange(line.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries));
            tokens.Add("<eos>");
        }
        return tokens;
    }

    /// <summary>&lt;unk&gt; = 0, &lt;eos&gt; = 1, then every other token by descending count, ties ordinal.</summary>
    private static Dictionary<string, long> BuildVocabulary(List<string> tokens)
    {
        var counts = tokens.Where(t => t != "<eos>").CountBy(t => t, StringComparer.Ordinal);
        var ordered = counts.OrderByDescending(kv => kv.Value).ThenBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => kv.Key);
        var vocabulary = new Dictionary<string, long>(StringComparer.Ordinal) { ["<unk>"] = 0, ["<eos>"] = 1 };
        foreach (var token in ordered)
        {
            vocabulary.TryAdd(token, vocabulary.Count);
        }
        return vocabulary;
    }

    private static long[] Encode(List<string> tokens, Dictionary<string, long> vocabulary) =>
        tokens.Select(t => vocabulary.GetValueOrDefault(t, 0)).ToArray();

    /// <summary>Inputs ids[:-1] and targets ids[1:] as time-major [L, B]: stream b holds positions [bL, (b+1)L).</summary>
    private static (Tensor Inputs, Tensor Targets) Batchify(long[] ids, int streams)
    {
        var n = ids.Length - 1;
        if (n < 1)
        {
            throw new InvalidDataException("the training split has fewer than two tokens");
        }
        var b = Math.Max(1, Math.Min(streams, n));
        var length = n / b;
        Tensor Streams(int offset) => tensor(ids.AsSpan(offset, b * length).ToArray(), [b, length]).t().contiguous();
        return (Streams(0), Streams(1));
    }
}

internal sealed record Options
{
    public string Data { get; init; } = "";
    public int Layers { get; init; } = 2;
    public int Hidden { get; init; } = 200;
    public int Emsize { get; init; } = 200;
    public int Batch { get; init; } = 20;
    public int Bptt { get; init; } = 35;
    public int Steps { get; init; } = 300;
    public int LogEvery { get; init; } = 50;
    public int Threads { get; init; } = Environment.ProcessorCount;
    public string Precision { get; init; } = "fp32";
    public double Lr { get; init; } = 20;
    public double Clip { get; init; } = 0.25;
    public int Seed { get; init; } = 1234;
    public bool Peak { get; init; }
    public int[] PeakSizes { get; init; } = [512, 1024, 2048, 3072];
    public double PeakSeconds { get; init; } = 0.25;

    public static Options? Parse(string[] args)
    {
        var o = new Options();
        try
        {
            for (var i = 0; i < args.Length; i++)
            {
                string Value() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value");
                int Int() => int.Parse(Value(), CultureInfo.InvariantCulture);
                double Real() => double.Parse(Value(), CultureInfo.InvariantCulture);
                o = args[i] switch
                {
                    "--data" => o with { Data = Value() },
                    "--layers" => o with { Layers = Int() },
                    "--hidden" => o with { Hidden = Int() },
                    "--emsize" => o with { Emsize = Int() },
                    "--batch" => o with { Batch = Int() },
                    "--bptt" => o with { Bptt = Int() },
                    "--steps" => o with { Steps = Int() },
                    "--log-every" => o with { LogEvery = Int() },
                    "--threads" => o with { Threads = Int() },
                    "--precision" => o with { Precision = Value() },
                    "--lr" => o with { Lr = Real() },
                    "--clip" => o with { Clip = Real() },
                    "--seed" => o with { Seed = Int() },
                    "--peak" => o with { Peak = true },
                    "--peak-sizes" => o with { PeakSizes = Value().Split(',').Select(s => int.Parse(s, CultureInfo.InvariantCulture)).ToArray() },
                    "--peak-seconds" => o with { PeakSeconds = Real() },
                    _ => throw new ArgumentException($"unknown option {args[i]}"),
                };
            }
            if (o.Precision is not ("fp32" or "bf16"))
            {
                throw new ArgumentException($"--precision must be fp32 or bf16, got {o.Precision}");
            }
            if (new[] { o.Layers, o.Hidden, o.Emsize, o.Batch, o.Bptt, o.Steps, o.LogEvery, o.Threads }.Any(v => v < 1) ||
                o.PeakSizes.Any(v => v < 1) || !(o.PeakSeconds > 0))
            {
                throw new ArgumentException("sizes, counts, threads and --peak-seconds must be positive");
            }
            if (!o.Peak && (o.Data.Length == 0 || o.Steps < 2 * o.LogEvery))
            {
                throw new ArgumentException("training needs --data and --steps >= 2 * --log-every (the first interval is warm-up)");
            }
        }
        catch (Exception e) when (e is ArgumentException or FormatException or OverflowException)
        {
            Console.Error.WriteLine($"TorchSharpLoop: {e.Message}");
            return null;
        }
        return o;
    }
}
