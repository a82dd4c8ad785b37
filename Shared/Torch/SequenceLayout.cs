using TorchSharp;
using static TorchSharp.torch;

namespace RnnCluster.Torch;

/// <summary>
/// Where the valid positions of a time-major padded batch <c>[Steps, Count]</c> are: sequence b holds rows
/// <c>[0, length_b)</c>. Gives the masks and index maps that let padded kernels give the results of
/// packed ones (see <see cref="RecurrentStack"/>). Tensors live in the caller's dispose scope.
/// </summary>
internal sealed class SequenceLayout
{
    private readonly int[] _lengths;
    private readonly Device _device;
    private Tensor? _hostLengths;
    private Tensor? _deviceLengths;
    private Tensor? _reverse;
    private Tensor? _valid;

    private SequenceLayout(int[] lengths, int steps, Device device)
    {
        _lengths = lengths;
        Steps = steps;
        _device = device;
        AllFull = lengths.All(l => l == steps);
    }

    public int Steps { get; }

    public int Count => _lengths.Length;

    /// <summary>Every sequence fills every row: no padding anywhere.</summary>
    public bool AllFull { get; }

    /// <summary>The lengths as a CPU int64 tensor (what packing wants).</summary>
    public Tensor HostLengths => _hostLengths ??= torch.tensor(_lengths.Select(l => (long)l).ToArray(), ScalarType.Int64);

    /// <summary>The lengths on the model's device, int64 <c>[Count]</c>.</summary>
    public Tensor Lengths => _deviceLengths ??= HostLengths.to(_device);

    /// <summary><c>[Steps, Count]</c> bool, true at valid positions.</summary>
    public Tensor Valid => _valid ??= StepIndex().lt(Lengths.unsqueeze(0));

    /// <summary>A layout where every one of <paramref name="count"/> sequences has all <paramref name="steps"/> rows.</summary>
    public static SequenceLayout Full(int steps, int count, Device device) => new(Enumerable.Repeat(steps, count).ToArray(), steps, device);

    public static SequenceLayout Of(ReadOnlySpan<int> lengths, int steps, Device device) => new(lengths.ToArray(), steps, device);

    /// <summary>
    /// <c>[Steps, Count, F]</c> with each sequence's valid rows reversed in place (padding rows stay);
    /// its own inverse.
    /// </summary>
    public Tensor Reverse(Tensor x)
    {
        if (AllFull)
        {
            return x.flip(0);
        }

        if (_reverse is null)
        {
            // index[t, b] = length_b - 1 - t inside the sequence, t itself in the padding.
            var t = StepIndex();
            var mirrored = Lengths.unsqueeze(0).sub(FillValues.OneIndex).sub(t);
            _reverse = where(Valid, mirrored, t.expand(Steps, Count));
        }

        return x.gather(0, _reverse.unsqueeze(2).expand(x.shape));
    }

    /// <summary>Each sequence's row at its last valid position: <c>[Steps, Count, F]</c> → <c>[1, Count, F]</c>.</summary>
    public Tensor Last(Tensor x)
    {
        var index = Lengths.sub(FillValues.OneIndex).view(1, Count, 1).expand(1, Count, x.shape[2]);
        return x.gather(0, index);
    }

    /// <summary>Refuses ids outside [low, high) at valid positions (padding may hold anything), naming the extremes.</summary>
    public void CheckIds(ReadOnlySpan<long> ids, long low, long high, string what)
    {
        long min = long.MaxValue, max = long.MinValue;
        for (var t = 0; t < Steps; t++)
        {
            for (var b = 0; b < Count; b++)
            {
                if (t < _lengths[b])
                {
                    var id = ids[(t * Count) + b];
                    min = Math.Min(min, id);
                    max = Math.Max(max, id);
                }
            }
        }

        if (min < low || max >= high)
        {
            throw new TorchArgumentException($"{what} out of range [{low}, {high}): min {min}, max {max}");
        }
    }

    /// <summary><c>[Steps, 1]</c>: 0, 1, … (the count as a scalar kept alive through the call, see <see cref="FillValues"/>).</summary>
    private Tensor StepIndex()
    {
        using var steps = ((long)Steps).ToScalar();
        return arange(steps, ScalarType.Int64, _device).unsqueeze(1);
    }
}
