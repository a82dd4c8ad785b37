namespace RnnCluster.DataPlane.AllReduce;

/// <summary>
/// fp32 ↔ bfloat16 (the upper 16 bits of an fp32) for gradient compression. Rounding is to nearest, ties
/// to even, so the relative error of one rounding is at most 2^-8; values that are already bf16 (the low
/// 16 bits zero) come back unchanged; ±Inf stay infinite, NaN stays NaN (quieted, sign kept), and finite
/// values past bf16's largest round to ±Inf as IEEE rounding does. Payloads are floats, so two bf16 travel
/// in one float slot: element 2i in the low half, 2i+1 in the high half (bit operations, so the layout
/// does not depend on the host's byte order).
/// </summary>
public static class BFloat16
{
    /// <summary>The bf16 bits of <paramref name="value"/>, rounded to nearest even.</summary>
    public static ushort ToBits(float value)
    {
        var bits = BitConverter.SingleToUInt32Bits(value);
        if ((bits & 0x7FFF_FFFF) > 0x7F80_0000)
        {
            // NaN: truncating could clear every mantissa bit left and make it an infinity; set the quiet bit.
            return (ushort)((bits >> 16) | 0x0040);
        }

        // Adding 0x7FFF plus the lowest kept bit rounds half to even; a carry into the exponent is the right result (up to Inf).
        return (ushort)((bits + 0x7FFFu + ((bits >> 16) & 1)) >> 16);
    }

    public static float FromBits(ushort bits) => BitConverter.UInt32BitsToSingle((uint)bits << 16);

    /// <summary><paramref name="value"/> rounded to the nearest bf16, as an fp32.</summary>
    public static float Round(float value) => FromBits(ToBits(value));

    /// <summary>Rounds every element in place.</summary>
    public static void RoundInPlace(Span<float> values)
    {
        for (var i = 0; i < values.Length; i++)
        {
            values[i] = Round(values[i]);
        }
    }

    /// <summary>Float slots needed for <paramref name="count"/> packed bf16.</summary>
    public static int PackedLength(int count) => (count + 1) / 2;

    /// <summary>Rounds <paramref name="values"/> to bf16 and packs them two to a float slot into <paramref name="packed"/> (<see cref="PackedLength"/> slots; an odd last high half is 0).</summary>
    public static void Pack(ReadOnlySpan<float> values, Span<float> packed)
    {
        if (packed.Length < PackedLength(values.Length))
        {
            throw new ArgumentException($"{values.Length} bf16 need {PackedLength(values.Length)} float slots; {packed.Length} given.", nameof(packed));
        }

        var pairs = values.Length / 2;
        for (var i = 0; i < pairs; i++)
        {
            packed[i] = BitConverter.UInt32BitsToSingle(ToBits(values[2 * i]) | ((uint)ToBits(values[(2 * i) + 1]) << 16));
        }

        if ((values.Length & 1) != 0)
        {
            packed[pairs] = BitConverter.UInt32BitsToSingle(ToBits(values[^1]));
        }
    }

    /// <summary>Unpacks <paramref name="values"/>.Length bf16 from <paramref name="packed"/> into fp32.</summary>
    public static void Unpack(ReadOnlySpan<float> packed, Span<float> values)
    {
        if (packed.Length < PackedLength(values.Length))
        {
            throw new ArgumentException($"{values.Length} bf16 need {PackedLength(values.Length)} float slots; {packed.Length} given.", nameof(packed));
        }

        for (var i = 0; i < values.Length; i++)
        {
            var slot = BitConverter.SingleToUInt32Bits(packed[i >> 1]);
            values[i] = FromBits((ushort)((i & 1) == 0 ? slot : slot >> 16));
        }
    }
}
