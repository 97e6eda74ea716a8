using System.Buffers;
using Orleans.Serialization;
using Orleans.Serialization.Buffers;
using Orleans.Serialization.Session;

namespace Deploy.Engine.Silo.Hosting;

/// <summary>
/// A serialized state kept by Local mode, in pieces of at most <see cref="PieceSize"/> bytes: never a large-object-heap
/// array. A 10,000-host rollout's state is about 300 KB; written whole at every step (and serialized through a buffer
/// that doubled as it grew), it put megabytes a rollout on the large-object heap, each rollout then cost a full
/// blocking collection (about a fifth of a 10,000-host rolling rollout's time on the 2-core bench machine). Serialized
/// into Orleans' pooled buffer and copied once into exact pieces, a write leaves only small arrays behind.
/// </summary>
public sealed class StoredBytes
{
    /// <summary>Below the runtime's 85,000-byte large-object threshold.</summary>
    public const int PieceSize = 64 * 1024;

    private readonly byte[][] _pieces;

    private StoredBytes(byte[][] pieces) => _pieces = pieces;

    /// <summary>How many bytes are held.</summary>
    public long Length => _pieces.Sum(p => (long)p.Length);

    /// <summary>Serializes <paramref name="value"/> into Orleans' pooled buffer, then copies it once into exact pieces.</summary>
    public static StoredBytes Of<T>(Serializer serializer, SerializerSessionPool sessions, T value)
    {
        using var session = sessions.GetSession();
        var writer = Writer.CreatePooled(session);
        try
        {
            serializer.Serialize(value, ref writer);
            var bytes = writer.Output.AsReadOnlySequence();
            var pieces = new byte[Math.Max(1, (int)((bytes.Length + PieceSize - 1) / PieceSize))][];
            for (var i = 0; i < pieces.Length; i++)
            {
                var from = (long)i * PieceSize;
                pieces[i] = bytes.Slice(from, Math.Min(PieceSize, bytes.Length - from)).ToArray();
            }

            return new StoredBytes(pieces);
        }
        finally
        {
            writer.Dispose();
        }
    }

    /// <summary>The bytes as one sequence, for the deserializer.</summary>
    public ReadOnlySequence<byte> Sequence()
    {
        if (_pieces.Length == 1)
        {
            return new ReadOnlySequence<byte>(_pieces[0]);
        }

        var first = new Piece(_pieces[0], 0);
        var last = first;
        for (var i = 1; i < _pieces.Length; i++)
        {
            last = last.Append(_pieces[i]);
        }

        return new ReadOnlySequence<byte>(first, 0, last, last.Memory.Length);
    }

    private sealed class Piece : ReadOnlySequenceSegment<byte>
    {
        public Piece(byte[] bytes, long runningIndex)
        {
            Memory = bytes;
            RunningIndex = runningIndex;
        }

        public Piece Append(byte[] bytes)
        {
            var next = new Piece(bytes, RunningIndex + Memory.Length);
            Next = next;
            return next;
        }
    }
}
