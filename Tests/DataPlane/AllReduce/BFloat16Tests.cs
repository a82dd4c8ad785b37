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

    [Fact]
    public void The_span_conversions_give_the_scalar_definitions_bits_for_every_kind_of_value_and_length()
    {
        // The span methods convert 16 floats at a time with vectors and the tail one by one: every length
        // from 0 to 70 crosses the vector blocks' edges. Values: random bit patterns (NaNs of both signs
        // and payloads, infinities, subnormals), exact ties, values already bf16, and the largest finite
        // floats that round to infinity.
        var random = new Random(5);
        float[] special = [float.NaN, -float.NaN, BitConverter.UInt32BitsToSingle(0x7F80_0001), BitConverter.UInt32BitsToSingle(0xFFC1_2345),
            float.PositiveInfinity, float.NegativeInfinity, float.MaxValue, -float.MaxValue, float.Epsilon, -0f, 0f,
            BitConverter.UInt32BitsToSingle(0x3F80_8000), BitConverter.UInt32BitsToSingle(0x3F81_8000), BitConverter.UInt32BitsToSingle(0x7F7F_8000), 1.5f];
        foreach (var length in Enumerable.Range(0, 71).Append(1001).Append(4096))
        {
            var values = new float[length];
            for (var i = 0; i < length; i++)
            {
                values[i] = random.Next(4) == 0 ? special[random.Next(special.Length)] : BitConverter.UInt32BitsToSingle((uint)random.NextInt64(1L << 32));
            }

            var packed = new float[BFloat16.PackedLength(length)];
            BFloat16.Pack(values, packed);
            for (var j = 0; j < packed.Length; j++)
            {
                var high = (2 * j) + 1 < length ? (uint)BFloat16.ToBits(values[(2 * j) + 1]) << 16 : 0;
                Assert.Equal(BFloat16.ToBits(values[2 * j]) | high, BitConverter.SingleToUInt32Bits(packed[j]));
            }

            var unpacked = new float[length];
            BFloat16.Unpack(packed, unpacked);
            var rounded = values.ToArray();
            BFloat16.RoundInPlace(rounded);
            for (var i = 0; i < length; i++)
            {
                var expected = (uint)BFloat16.ToBits(values[i]) << 16;
                Assert.Equal(expected, BitConverter.SingleToUInt32Bits(unpacked[i]));
                Assert.Equal(expected, BitConverter.SingleToUInt32Bits(rounded[i]));
            }
        }
    }
}
