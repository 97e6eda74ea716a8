using System.Buffers;
using Orleans.Serialization;

namespace Deploy.Engine.Silo.Hosting;

/// <summary>
/// A serialized state kept by Local mode, in pieces of at most <see cref="PieceSize"/> bytes: never a large-object-heap
/// array. A 10,000-host rollout's state is about 300 KB; written whole at every step (and serialized through a buffer
/// that doubled as it grew), it put megabytes a rollout on the large-object heap, each rollout then cost a full
/// blocking collection (about a fifth of a 10,000-host rolling rollout's time on the 2-core bench machine). Serialized
/// into pooled pieces and copied once into exact ones, a write leaves only small arrays behind.
/// </summary>
public sealed class StoredBytes
{
    /// <summary>Below the runtime's 85,000-byte large-object threshold.</summary>
    public const int PieceSize = 64 * 1024;

    private readonly byte[][] _pieces;

    private StoredBytes(byte[][] pieces) => _pieces = pieces;

    /// <summary>How many bytes are held.</summary>
    public long Length => _pieces.Sum(p => (long)p.Length);

    public static StoredBytes Of<T>(Serializer serializer, T value)
    {
        var writer = new PooledPieces();
        try
        {
            serializer.Serialize(value, writer);
            return new StoredBytes(writer.ToExactPieces());
        }
        finally
        {
            writer.Return();
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

    /// <summary>An <see cref="IBufferWriter{T}"/> over pieces rented from the shared pool.</summary>
    private sealed class PooledPieces : IBufferWriter<byte>
    {
        private readonly List<(byte[] Array, int Used)> _rented = [];
        private byte[]? _current;
        private int _used;

        public void Advance(int count) => _used += count;

        public Memory<byte> GetMemory(int sizeHint = 0) => Next(sizeHint).AsMemory(_used);

        public Span<byte> GetSpan(int sizeHint = 0) => Next(sizeHint).AsSpan(_used);

        private byte[] Next(int sizeHint)
        {
            var wanted = Math.Max(sizeHint, 1);
            if (_current is not null && _current.Length - _used >= wanted)
            {
                return _current;
            }

            if (_current is not null)
            {
                _rented.Add((_current, _used));
            }

            _current = ArrayPool<byte>.Shared.Rent(Math.Max(wanted, PieceSize));
            _used = 0;
            return _current;
        }

        public byte[][] ToExactPieces()
        {
            var total = _rented.Sum(r => (long)r.Used) + _used;
            var pieces = new byte[Math.Max(1, (int)((total + PieceSize - 1) / PieceSize))][];
            var index = 0;
            var offset = 0;
            pieces[0] = new byte[(int)Math.Min(total, PieceSize)];
            var remaining = total;
            foreach (var (array, used) in _rented.Append((_current ?? [], _used)))
            {
                var from = 0;
                while (from < used)
                {
                    if (offset == pieces[index].Length)
                    {
                        remaining -= offset;
                        pieces[++index] = new byte[(int)Math.Min(remaining, PieceSize)];
                        offset = 0;
                    }

                    var n = Math.Min(used - from, pieces[index].Length - offset);
                    Buffer.BlockCopy(array, from, pieces[index], offset, n);
                    from += n;
                    offset += n;
                }
            }

            return pieces;
        }

        public void Return()
        {
            foreach (var (array, _) in _rented)
            {
                ArrayPool<byte>.Shared.Return(array);
            }

            if (_current is not null)
            {
                ArrayPool<byte>.Shared.Return(_current);
            }

            _rented.Clear();
            _current = null;
        }
    }
}
