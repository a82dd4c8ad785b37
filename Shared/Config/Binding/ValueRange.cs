using System.Globalization;

namespace RnnCluster.Config;

/// <summary>An interval a numeric setting must lie in, with the wording errors use.</summary>
public sealed class ValueRange
{
    private ValueRange(double min, bool minInclusive, double max, bool maxInclusive)
    {
        Min = min;
        MinInclusive = minInclusive;
        Max = max;
        MaxInclusive = maxInclusive;
    }

    public static ValueRange Any { get; } = new(double.NegativeInfinity, true, double.PositiveInfinity, true);

    /// <summary>&gt; 0.</summary>
    public static ValueRange Positive { get; } = GreaterThan(0);

    /// <summary>&gt;= 0.</summary>
    public static ValueRange NonNegative { get; } = AtLeast(0);

    /// <summary>[0, 1): probabilities that must leave something (dropout, fractions, momentum).</summary>
    public static ValueRange Fraction { get; } = Between(0, true, 1, false);

    /// <summary>(0, 1]: multiplicative factors that may keep the value but not zero it.</summary>
    public static ValueRange Factor { get; } = Between(0, false, 1, true);

    public double Min { get; }

    public bool MinInclusive { get; }

    public double Max { get; }

    public bool MaxInclusive { get; }

    /// <summary>The complaint when a value is outside, e.g. "must be greater than 0".</summary>
    public string Requirement
    {
        get
        {
            var min = Min.ToString(CultureInfo.InvariantCulture);
            if (double.IsPositiveInfinity(Max))
            {
                return MinInclusive ? $"must be at least {min}" : $"must be greater than {min}";
            }

            var max = Max.ToString(CultureInfo.InvariantCulture);
            return $"must be in {(MinInclusive ? '[' : '(')}{min}, {max}{(MaxInclusive ? ']' : ')')}";
        }
    }

    public static ValueRange AtLeast(double min) => new(min, true, double.PositiveInfinity, true);

    public static ValueRange GreaterThan(double min) => new(min, false, double.PositiveInfinity, true);

    public static ValueRange Between(double min, bool minInclusive, double max, bool maxInclusive) =>
        new(min, minInclusive, max, maxInclusive);

    public bool Contains(double value) =>
        (MinInclusive ? value >= Min : value > Min) && (MaxInclusive ? value <= Max : value < Max);
}
