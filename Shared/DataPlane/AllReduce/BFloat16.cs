using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace RnnCluster.DataPlane.AllReduce;

/// <summary>
/// fp32 ↔ bfloat16 (the upper 16 bits of an fp32) for gradient compression. Rounding is to nearest, ties
/// to even, so the relative error of one rounding is at most 2^-8; values that are already bf16 (the low
/// 16 bits zero) come back unchanged; ±Inf stay infinite, NaN stays NaN (quieted, sign kept), and finite
/// values past bf16's largest round to ±Inf as IEEE rounding does. Payloads are floats, so two bf16 travel
/// in one float slot: element 2i in the low half, 2i+1 in the high half (bit operations, so the layout
/// does not depend on the host's byte order). The span methods convert 16 floats at a time with 256-bit
/// vectors where the hardware has them (on little-endian hosts, where a vector's bytes lie as the slots
/// do), with the same bits as the scalar definition (<see cref="ToBits"/>): the scalar loops cost as much
/// CPU per float as the half of the bytes they saved (bench/scaling-model.sh --compression bf16).
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
        var i = 0;
        if (Vectorized)
        {
            var bits = MemoryMarshal.Cast<float, uint>(values);
            for (; i <= bits.Length - Vector256<uint>.Count; i += Vector256<uint>.Count)
            {
                var v = Vector256.LoadUnsafe(ref bits[i]);
                (ToBits(v) << 16).StoreUnsafe(ref bits[i]);
            }
        }

        for (; i < values.Length; i++)
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
        var i = 0;
        if (Vectorized)
        {
            // 16 floats → 16 bf16 in order → 8 slots: narrowing keeps each lane's low half, and on a
            // little-endian host ushort lane 2j is slot j's low half, 2j + 1 its high half.
            var source = MemoryMarshal.Cast<float, uint>(values);
            var target = MemoryMarshal.Cast<float, ushort>(packed);
            const int Step = 2 * 8; // Vector256<uint>.Count floats twice
            for (; (2 * i) + Step <= values.Length; i += Step / 2)
            {
                var low = ToBits(Vector256.LoadUnsafe(ref MemoryMarshal.GetReference(source), (nuint)(2 * i)));
                var high = ToBits(Vector256.LoadUnsafe(ref MemoryMarshal.GetReference(source), (nuint)((2 * i) + 8)));
                Vector256.Narrow(low, high).StoreUnsafe(ref MemoryMarshal.GetReference(target), (nuint)(2 * i));
            }
        }

        for (; i < pairs; i++)
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

        var i = 0;
        if (Vectorized)
        {
            // 8 slots = 16 bf16 in order (little-endian: slot j's low half first); widening each to 32 bits
            // and shifting it into the high half gives the 16 floats.
            var source = MemoryMarshal.Cast<float, ushort>(packed);
            var target = MemoryMarshal.Cast<float, uint>(values);
            for (; i + 16 <= values.Length; i += 16)
            {
                var (low, high) = Vector256.Widen(Vector256.LoadUnsafe(ref MemoryMarshal.GetReference(source), (nuint)i));
                (low << 16).StoreUnsafe(ref MemoryMarshal.GetReference(target), (nuint)i);
                (high << 16).StoreUnsafe(ref MemoryMarshal.GetReference(target), (nuint)(i + 8));
            }
        }

        for (; i < values.Length; i++)
        {
            var slot = BitConverter.SingleToUInt32Bits(packed[i >> 1]);
            values[i] = FromBits((ushort)((i & 1) == 0 ? slot : slot >> 16));
        }
    }

    /// <summary>Whether the span methods take the vector path for all but a tail of fewer than 16 floats.</summary>
    private static bool Vectorized => Vector256.IsHardwareAccelerated && BitConverter.IsLittleEndian;

    /// <summary><see cref="ToBits(float)"/> of 8 floats' bits at once, each result in its lane's low 16 bits.</summary>
    private static Vector256<uint> ToBits(Vector256<uint> bits)
    {
        var rounded = (bits + Vector256.Create(0x7FFFu) + ((bits >> 16) & Vector256<uint>.One)) >> 16;
        var quietNaN = (bits >> 16) | Vector256.Create(0x0040u);
        var isNaN = Vector256.GreaterThan(bits & Vector256.Create(0x7FFF_FFFFu), Vector256.Create(0x7F80_0000u));
        return Vector256.ConditionalSelect(isNaN, quietNaN, rounded) & Vector256.Create(0xFFFFu);
    }
}
