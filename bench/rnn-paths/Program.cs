// Padded + per-sequence reversal (what RnnCluster's RecurrentStack runs) against packed sequences
// (nn.utils.rnn.pack_padded_sequence into a bidirectional module), forward + backward of one
// bidirectional layer over a length-bucketed batch. Prints milliseconds per batch, best of the repeats.
// Usage: dotnet RnnPaths.dll [--threads N] [--repeats N]   (run with OMP_WAIT_POLICY=PASSIVE)
using System.Diagnostics;
using System.Globalization;
using TorchSharp;
using static TorchSharp.torch;

var threads = Option("--threads", 1);
var repeats = Option("--repeats", 20);
torch.set_num_threads(threads);
torch.manual_seed(1);

// (name, sequences, shortest, longest, input, hidden): a spam-like bucket and a cmudict-like one.
(string Name, int Batch, int Min, int Max, int Input, int Hidden)[] shapes =
[
    ("messages: 32 x 180-200 steps, 64 -> 128", 32, 180, 200, 64, 128),
    ("words: 128 x 6-10 steps, 32 -> 128", 128, 6, 10, 32, 128),
];
Console.WriteLine($"one bidirectional layer, forward + backward, {threads} thread(s), best of {repeats}; ms per batch");
Console.WriteLine($"{"batch",-42} {"cell",-5} {"padded",8} {"packed",8} {"packed/padded",14}");
foreach (var shape in shapes)
{
    var random = new Random(7);
    var lengths = Enumerable.Range(0, shape.Batch).Select(_ => (long)random.Next(shape.Min, shape.Max + 1)).ToArray();
    var steps = (int)lengths.Max();
    foreach (var cell in new[] { "lstm", "gru" })
    {
        var padded = Time(() => Padded(cell, shape.Input, shape.Hidden, steps, lengths));
        var packed = Time(() => Packed(cell, shape.Input, shape.Hidden, steps, lengths));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{shape.Name,-42} {cell,-5} {padded,8:F1} {packed,8:F1} {packed / padded,13:F2}x"));
    }
}

double Time(Func<Action> setup)
{
    var step = setup();
    step();
    var best = double.MaxValue;
    for (var i = 0; i < repeats; i++)
    {
        var watch = Stopwatch.StartNew();
        step();
        best = Math.Min(best, watch.Elapsed.TotalMilliseconds);
    }

    return best;
}

static nn.Module<Tensor, Tensor> Layer(string cell, int input, int hidden, bool bidirectional) => cell == "lstm"
    ? new LstmOutput(nn.LSTM(input, hidden, bidirectional: bidirectional))
    : new GruOutput(nn.GRU(input, hidden, bidirectional: bidirectional));

// Two one-directional modules; the reverse one reads each sequence reversed within its own length.
static Action Padded(string cell, int input, int hidden, int steps, long[] lengths)
{
    var forward = Layer(cell, input, hidden, false);
    var backward = Layer(cell, input, hidden, false);
    var x = randn(steps, lengths.Length, input).requires_grad_(true);
    var length = tensor(lengths);
    var t = arange(steps).unsqueeze(1);
    var valid = t.lt(length.unsqueeze(0));
    var index = where(valid, length.unsqueeze(0) - 1 - t, t.expand(steps, lengths.Length));
    return () =>
    {
        using var scope = NewDisposeScope();
        var reversed = x.gather(0, index.unsqueeze(2).expand(x.shape));
        var back = backward.call(reversed);
        var output = cat([forward.call(x), back.gather(0, index.unsqueeze(2).expand(back.shape))], 2);
        output.masked_fill(valid.logical_not().unsqueeze(2), 0.0).sum().backward();
    };
}

static Action Packed(string cell, int input, int hidden, int steps, long[] lengths)
{
    var layer = cell == "lstm" ? (nn.Module)nn.LSTM(input, hidden, bidirectional: true) : nn.GRU(input, hidden, bidirectional: true);
    var x = randn(steps, lengths.Length, input).requires_grad_(true);
    var length = tensor(lengths);
    return () =>
    {
        using var scope = NewDisposeScope();
        var packed = nn.utils.rnn.pack_padded_sequence(x, length, enforce_sorted: false);
        var output = layer is TorchSharp.Modules.LSTM lstm ? lstm.call(packed).Item1 : ((TorchSharp.Modules.GRU)layer).call(packed).Item1;
        nn.utils.rnn.pad_packed_sequence(output).Item1.sum().backward();
    };
}

int Option(string name, int fallback)
{
    var i = Array.IndexOf(args, name);
    return i >= 0 && i + 1 < args.Length ? int.Parse(args[i + 1], CultureInfo.InvariantCulture) : fallback;
}

sealed class LstmOutput(TorchSharp.Modules.LSTM lstm) : nn.Module<Tensor, Tensor>("lstm")
{
    public override Tensor forward(Tensor input) => lstm.call(input).Item1;
}

sealed class GruOutput(TorchSharp.Modules.GRU gru) : nn.Module<Tensor, Tensor>("gru")
{
    public override Tensor forward(Tensor input) => gru.call(input).Item1;
}
