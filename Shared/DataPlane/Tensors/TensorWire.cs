using System.Buffers;
using Google.Protobuf;
using RnnCluster.DataPlane.Protocol;
using Wire = RnnCluster.DataPlane.Protocol;

namespace RnnCluster.DataPlane.Tensors;

/// <summary>
/// A tensor on the wire: a serialized <c>Frame { tensor { header, data } }</c>, always chunked (so always
/// under the XxHash128 checksum) and reassembled by the same <see cref="ChunkAssembler"/> as every
/// chunked payload. The few bytes in front of the floats are written apart and the floats stay where
/// they lie until each chunk is written into the send buffer, so a tensor is never serialized into one array.
/// </summary>
internal static class TensorWire
{
    /// <summary>Largest serialized header accepted; <see cref="TensorHeader.Validate"/>'s limits keep a valid one far below.</summary>
    public const int MaxHeaderBytes = 8 * 1024;

    /// <summary>The chunks of one tensor; they point into <paramref name="data"/>, which must not change until they are written.</summary>
    /// <exception cref="ArgumentException">The header serializes to more than <see cref="MaxHeaderBytes"/>.</exception>
    public static OutgoingChunk[] Split(ChunkWriter writer, Wire.TensorHeader header, ReadOnlyMemory<byte> data, SharedSlice? shared = null)
    {
        if (shared is not null && !data.IsEmpty)
        {
            throw new ArgumentException("A tensor in shared memory carries no data.", nameof(data));
        }

        var headerSize = header.CalculateSize();
        if (headerSize > MaxHeaderBytes)
        {
            throw new ArgumentException($"A tensor header of {headerSize} bytes is over the {MaxHeaderBytes} bytes allowed.", nameof(header));
        }

        // The bytes protobuf writes before the data, in field order; an empty data field is omitted, as generated code would.
        var dataField = data.IsEmpty ? 0 : 1 + CodedOutputStream.ComputeLengthSize(data.Length);
        var sharedSize = shared?.CalculateSize() ?? 0;
        var sharedField = shared is null ? 0 : 1 + CodedOutputStream.ComputeLengthSize(sharedSize) + sharedSize;
        var tensorSize = 1 + CodedOutputStream.ComputeLengthSize(headerSize) + headerSize + sharedField + dataField + (long)data.Length;
        if (tensorSize > int.MaxValue - 16)
        {
            throw new ArgumentException($"A tensor of {data.Length} bytes is over the 2 GiB a transfer may carry.", nameof(data));
        }

        var prefix = new byte[1 + CodedOutputStream.ComputeLengthSize((int)tensorSize) + tensorSize - data.Length];
        var output = new CodedOutputStream(prefix);
        output.WriteTag(Frame.TensorFieldNumber, WireFormat.WireType.LengthDelimited);
        output.WriteLength((int)tensorSize);
        output.WriteTag(Tensor.HeaderFieldNumber, WireFormat.WireType.LengthDelimited);
        output.WriteLength(headerSize);
        header.WriteTo(output);
        if (shared is not null)
        {
            output.WriteTag(Tensor.SharedFieldNumber, WireFormat.WireType.LengthDelimited);
            output.WriteLength(sharedSize);
            shared.WriteTo(output);
        }

        if (!data.IsEmpty)
        {
            output.WriteTag(Tensor.DataFieldNumber, WireFormat.WireType.LengthDelimited);
            output.WriteLength(data.Length);
        }

        output.Flush();
        output.CheckNoSpaceLeft();
        return writer.Split(prefix, data);
    }

    /// <summary>
    /// Reads a reassembled tensor payload: its header, and where its float bytes lie (not copied: the
    /// caller copies them once, into the receiver's buffer). Only the first few kilobytes are read as
    /// protobuf, so the data must be the last field, as <see cref="Split"/> writes it; fields this
    /// version does not know are skipped if they come before it.
    /// </summary>
    /// <exception cref="FormatException">Not a serialized <c>Frame { tensor }</c>, no header, an oversized or invalid header, data that is not the last field, or data that is not whole floats.</exception>
    public static (TensorHeader Header, long DataOffset, int DataLength, SharedSlice? Shared) Parse(ReadOnlySequence<byte> payload)
    {
        // Tag and length of the frame and of the tensor, then the header field: all in the window.
        var window = payload.Slice(0, Math.Min(payload.Length, MaxHeaderBytes + 32)).ToArray();
        var input = new CodedInputStream(window);
        try
        {
            var tag = input.ReadTag();
            if (tag != WireFormat.MakeTag(Frame.TensorFieldNumber, WireFormat.WireType.LengthDelimited))
            {
                throw new FormatException($"a chunked payload that is not a tensor (field {WireFormat.GetTagFieldNumber(tag)}); only tensors are chunked on a tensor connection");
            }

            var tensorLength = input.ReadLength();
            if (input.Position + tensorLength != payload.Length)
            {
                throw new FormatException($"a tensor of {tensorLength} bytes in a payload of {payload.Length - input.Position} after its tag");
            }

            Wire.TensorHeader? header = null;
            SharedSlice? shared = null;
            var (dataOffset, dataLength) = (0L, 0);
            while (input.Position < payload.Length)
            {
                tag = input.ReadTag();
                if (tag == 0)
                {
                    throw new FormatException($"a tensor whose fields run past the first {window.Length} bytes without its data");
                }

                if (tag == WireFormat.MakeTag(Tensor.HeaderFieldNumber, WireFormat.WireType.LengthDelimited))
                {
                    header = new Wire.TensorHeader();
                    input.ReadMessage(header);
                }
                else if (tag == WireFormat.MakeTag(Tensor.SharedFieldNumber, WireFormat.WireType.LengthDelimited))
                {
                    shared = new SharedSlice();
                    input.ReadMessage(shared);
                }
                else if (tag == WireFormat.MakeTag(Tensor.DataFieldNumber, WireFormat.WireType.LengthDelimited))
                {
                    dataLength = input.ReadLength();
                    dataOffset = input.Position;
                    if (dataOffset + dataLength != payload.Length)
                    {
                        throw new FormatException("tensor data that is not the last field");
                    }

                    break;
                }
                else
                {
                    input.SkipLastField();
                }
            }

            if (header is null)
            {
                throw new FormatException("a tensor without a header");
            }

            if (dataLength % sizeof(float) != 0)
            {
                throw new FormatException($"tensor data of {dataLength} bytes, not a whole number of floats");
            }

            if (shared is not null && dataLength != 0)
            {
                throw new FormatException("a tensor with both data and a slice of shared memory");
            }

            if (shared is not null && shared.Length % sizeof(float) != 0)
            {
                throw new FormatException($"a slice of shared memory of {shared.Length} bytes, not a whole number of floats");
            }

            return (TensorHeader.FromWire(header), dataOffset, dataLength, shared);
        }
        catch (InvalidProtocolBufferException e)
        {
            // Also what a header running past the window (over MaxHeaderBytes) ends in.
            throw new FormatException($"a tensor that does not parse: {e.Message}", e);
        }
    }
}
