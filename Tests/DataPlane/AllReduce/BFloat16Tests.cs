using RnnCluster.DataPlane.AllReduce;

namespace RnnCluster.Tests.DataPlane.AllReduce;

public sealed class BFloat16Tests
{
    [Fact]
    public void Rounding_to_bf16_errs_by_at_most_two_to_the_minus_eight_relative_for_normal_values()
    {
        var random = new Random(11);
        for (var i = 0; i < 200_000; i++)
        {
            var value = (float)((random.NextDouble() - 0.5) * Math.Pow(2, random.Next(-140, 120)));
            var rounded = BFloat16.Round(value);
            if (value == 0)
            {
                continue;
            }

            // Relative for normal values; subnormals have fewer significant bits, so there the bound is half a bf16 subnormal step.
            var bound = Math.Abs(value) >= 1.17549435E-38f ? Math.Abs((double)value) * Math.Pow(2, -8) : Math.Pow(2, -134);
            Assert.True(Math.Abs((double)rounded - value) <= bound, $"{value:R} rounded to {rounded:R}");
            Assert.Equal(0u, BitConverter.SingleToUInt32Bits(rounded) & 0xFFFF);
        }
    }

    [Fact]
    public void Values_already_in_bf16_come_back_exactly()
    {
        for (var bits = 0; bits <= ushort.MaxValue; bits++)
        {
            var value = BFloat16.FromBits((ushort)bits);
            if (float.IsNaN(value))
            {
                Assert.True(float.IsNaN(BFloat16.Round(value)));
                continue;
            }

            Assert.Equal((ushort)bits, BFloat16.ToBits(value));
        }
    }

    [Fact]
    public void Ties_round_to_even_and_overflow_nan_and_infinities_are_handled()
    {
        var ulp = MathF.Pow(2, -7); // of bf16 at 1
        Assert.Equal(1f, BFloat16.Round(1 + (ulp / 2)));                       // tie, 1 is even
        Assert.Equal(1 + (2 * ulp), BFloat16.Round(1 + ulp + (ulp / 2)));      // tie, 1 + ulp is odd
        Assert.Equal(1 + ulp, BFloat16.Round(1 + (ulp / 2) + MathF.Pow(2, -20)));
        Assert.Equal(float.PositiveInfinity, BFloat16.Round(float.PositiveInfinity));
        Assert.Equal(float.NegativeInfinity, BFloat16.Round(float.NegativeInfinity));
        Assert.Equal(float.PositiveInfinity, BFloat16.Round(float.MaxValue));
        Assert.Equal(0x8000, BFloat16.ToBits(-0f));

        // A NaN whose payload lives only in the low bits must not truncate to an infinity.
        var lowNaN = BitConverter.UInt32BitsToSingle(0x7F80_0001);
        Assert.True(float.IsNaN(BFloat16.Round(lowNaN)));
        Assert.True(float.IsNaN(BFloat16.Round(BitConverter.UInt32BitsToSingle(0xFF80_0001))));
        Assert.True(float.IsNegative(BFloat16.Round(BitConverter.UInt32BitsToSingle(0xFF80_0001))));
    }

    [Fact]
    public void Packing_two_to_a_slot_round_trips_odd_and_even_lengths()
    {
        foreach (var length in new[] { 0, 1, 2, 7, 1000 })
        {
            var values = AllReduceData.Gradients(length, seed: length);
            var packed = new float[BFloat16.PackedLength(length)];
            BFloat16.Pack(values, packed);
            var unpacked = new float[length];
            BFloat16.Unpack(packed, unpacked);
            Assert.Equal(values.Select(BFloat16.Round), unpacked);
        }

        Assert.Throws<ArgumentException>(() => BFloat16.Pack(new float[5], new float[2]));
    }
}
