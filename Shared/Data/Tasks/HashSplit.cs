using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;

namespace RnnCluster.Data.Tasks;

/// <summary>
/// Assigns an example to train, valid or test by the SHA-256 of its canonical text (UTF-8), so the
/// assignment depends on nothing but the example: not on file order, run, seed or machine, and
/// identical examples always land in the same split (no train/test leakage through duplicates).
/// The first 8 bytes of the hash, big-endian, scaled to a point u in [0, 1): u &lt; test → test,
/// u &lt; test + valid → valid, otherwise train. Test comes first so that changing the validation
/// share never moves a test example. The canonical text is the acceptor's text (not its label), the
/// transducer's tokens joined by single spaces, the encoder–decoder's source, or a document's text.
/// </summary>
public static class HashSplit
{
    /// <summary>Default validation share: 10 % of examples.</summary>
    public const double DefaultValidFraction = 0.1;

    /// <summary>Default test share: 10 % of examples.</summary>
    public const double DefaultTestFraction = 0.1;

    /// <summary>The point in [0, 1) that <paramref name="canonicalText"/> hashes to.</summary>
    public static double Point(string canonicalText)
    {
        ArgumentNullException.ThrowIfNull(canonicalText);
        Span<byte> hash = stackalloc byte[SHA256.HashSizeInBytes];
        SHA256.HashData(Encoding.UTF8.GetBytes(canonicalText), hash);

        // 53 bits make every value exactly representable, so the comparison below is the same everywhere.
        return (BinaryPrimitives.ReadUInt64BigEndian(hash) >> 11) * (1.0 / (1UL << 53));
    }

    public static DataSplit Assign(string canonicalText, double validFraction = DefaultValidFraction, double testFraction = DefaultTestFraction)
    {
        ValidateFractions(validFraction, testFraction);
        var u = Point(canonicalText);
        return u < testFraction ? DataSplit.Test : u < testFraction + validFraction ? DataSplit.Valid : DataSplit.Train;
    }

    /// <summary>Splits <paramref name="items"/> by the hash of <paramref name="canonicalText"/>, keeping their order within each split.</summary>
    public static (List<T> Train, List<T> Valid, List<T> Test) Split<T>(
        IEnumerable<T> items, Func<T, string> canonicalText, double validFraction = DefaultValidFraction, double testFraction = DefaultTestFraction)
    {
        ArgumentNullException.ThrowIfNull(items);
        ArgumentNullException.ThrowIfNull(canonicalText);
        ValidateFractions(validFraction, testFraction);
        var (train, valid, test) = (new List<T>(), new List<T>(), new List<T>());
        foreach (var item in items)
        {
            var list = Assign(canonicalText(item), validFraction, testFraction) switch
            {
                DataSplit.Test => test,
                DataSplit.Valid => valid,
                _ => train,
            };
            list.Add(item);
        }

        return (train, valid, test);
    }

    internal static void ValidateFractions(double validFraction, double testFraction)
    {
        if (!(validFraction >= 0 && testFraction >= 0 && validFraction + testFraction < 1))
        {
            throw new ArgumentOutOfRangeException(
                nameof(validFraction),
                $"valid ({validFraction}) and test ({testFraction}) fractions must be non-negative and sum to less than 1.");
        }
    }
}
