using System.Globalization;

namespace RnnCluster.Data.Tasks;

/// <summary>What the maximum length did to one split: how many examples were kept whole, truncated or dropped.</summary>
public sealed record LengthReport(string Split, int Examples, int Truncated, int Dropped, int MaxLength, MaxLengthPolicy Policy)
{
    /// <summary>Examples left in the split, truncated ones included.</summary>
    public int Kept => Examples - Dropped;

    /// <summary>"valid.tsv: 3 of 1,000 examples longer than 256 tokens were truncated" or "… no example is longer than 256 tokens".</summary>
    public override string ToString()
    {
        if (MaxLength == 0)
        {
            return string.Create(CultureInfo.InvariantCulture, $"{Split}: {Examples:N0} examples, no maximum length");
        }

        var affected = Truncated + Dropped;
        return affected == 0
            ? string.Create(CultureInfo.InvariantCulture, $"{Split}: {Examples:N0} examples, none longer than {MaxLength} tokens")
            : string.Create(CultureInfo.InvariantCulture, $"{Split}: {affected:N0} of {Examples:N0} examples longer than {MaxLength} tokens were {(Policy == MaxLengthPolicy.Drop ? "dropped" : "truncated")}");
    }
}
