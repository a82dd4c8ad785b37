using Google.Protobuf;
using RnnCluster.DataPlane;
using RnnCluster.Remote;

namespace RnnCluster.Tests.DataPlane.Transport;

internal sealed record Note(string Text);

internal sealed record Blob(byte[] Data);

internal static class TestMessages
{
    public const uint NoteId = 1;
    public const uint BlobId = 2;

    public static MessageRegistry Registry { get; } = new MessageRegistryBuilder()
        .Add<Note>(NoteId, n => ByteString.CopyFromUtf8(n.Text), b => new Note(b.ToStringUtf8()))
        .Add<Blob>(BlobId, b => UnsafeByteOperations.UnsafeWrap(b.Data), b => new Blob(b.ToByteArray()))
        .Build();
}
