using System.Globalization;

namespace RnnCluster.Torch;

/// <summary>Where a model lives: <c>cpu</c>, or <c>cuda:N</c>.</summary>
public readonly record struct TorchDevice(bool IsCuda, int Index)
{
    public static TorchDevice Cpu => new(false, 0);

    /// <summary>Parses <c>cpu</c>, <c>cuda</c> (= <c>cuda:0</c>) or <c>cuda:N</c>.</summary>
    public static bool TryParse(string text, out TorchDevice device)
    {
        device = Cpu;
        if (text == "cpu")
        {
            return true;
        }

        if (text == "cuda")
        {
            device = new TorchDevice(true, 0);
            return true;
        }

        if (text.StartsWith("cuda:", StringComparison.Ordinal)
            && int.TryParse(text.AsSpan(5), NumberStyles.None, CultureInfo.InvariantCulture, out var index))
        {
            device = new TorchDevice(true, index);
            return true;
        }

        return false;
    }

    public override string ToString() => IsCuda ? $"cuda:{Index}" : "cpu";
}
