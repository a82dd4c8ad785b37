using System.Security.Cryptography;

namespace RnnCluster.Tests.DataPlane;

/// <summary>Deterministic nonces: each byte is the next value of a counter that starts at the seed.</summary>
internal sealed class CountingRandom(byte seed) : RandomNumberGenerator
{
    private byte _next = seed;

    public override void GetBytes(byte[] data) => GetBytes(data.AsSpan());

    public override void GetBytes(Span<byte> data)
    {
        for (var i = 0; i < data.Length; i++)
        {
            data[i] = _next++;
        }
    }
}
