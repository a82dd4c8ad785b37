using RnnCluster.Torch;
using System.Globalization;

namespace RnnCluster.Config;

/// <summary><c>runtime.*</c>: randomness, device and threads of the process.</summary>
public sealed record RuntimeSettings
{
    public static RuntimeSettings Default { get; } = new();

    /// <summary>Seed of every random generator (initialisation, dropout, data order).</summary>
    public long Seed { get; init; } = 1234;

    /// <summary>"cpu", "cuda" or "cuda:N".</summary>
    public string Device { get; init; } = "cpu";

    /// <summary>Intra-op threads for libtorch; 0 = all cores.</summary>
    public int Threads { get; init; }

    /// <summary>Accepted for configurations written for the C++ bridge; no effect since TorchSharp (MKL and oneDNN share libtorch's threads).</summary>
    public int BlasThreads { get; init; } = 1;

    /// <summary>fp32, or bf16: the output layers' matrix products in bfloat16 with fp32 master weights and optimizer state.</summary>
    public ComputePrecision Precision { get; init; } = ComputePrecision.Native;

    public static RuntimeSettings Bind(ConfigSection section)
    {
        ArgumentNullException.ThrowIfNull(section);
        return new()
        {
            Seed = section.GetLong("seed", Default.Seed),
            Device = section.GetString("device", Default.Device, IsDevice, "expected \"cpu\", \"cuda\" or \"cuda:N\" (N = device index)"),
            Threads = section.GetInt("threads", Default.Threads, ValueRange.NonNegative),
            BlasThreads = section.GetInt("blas-threads", Default.BlasThreads, ValueRange.AtLeast(1)),
            Precision = section.GetEnum("precision", Default.Precision, SettingNames.Precisions),
        };
    }

    public static bool IsDevice(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (text is "cpu" or "cuda")
        {
            return true;
        }

        var index = text.StartsWith("cuda:", StringComparison.Ordinal) ? text["cuda:".Length..] : null;
        return index is { Length: > 0 }
            && index.All(char.IsAsciiDigit)
            && int.TryParse(index, NumberStyles.None, CultureInfo.InvariantCulture, out _);
    }

    public void Write(HoconWriter writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        writer.Write("seed", Seed);
        writer.Write("device", Device);
        writer.Write("threads", Threads);
        writer.Write("blas-threads", BlasThreads);
        writer.WriteName("precision", SettingNames.Precisions.ToName(Precision));
    }
}
