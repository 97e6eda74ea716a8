namespace Deploy.Engine.Domain.Streaming;

/// <summary>What a read of the window found: the items after the asked position, and whether some were lost.</summary>
/// <param name="Items">Retained items with a sequence above the asked one, oldest first, at most the asked count.</param>
/// <param name="Gap">True when items after the asked position were already evicted (the reader missed some).</param>
/// <param name="Oldest">The sequence of the oldest retained item (Last + 1 when empty).</param>
/// <param name="Last">The sequence of the newest item ever appended (0 when none).</param>
public sealed record WindowRead<T>(IReadOnlyList<T> Items, bool Gap, long Oldest, long Last);

/// <summary>
/// A bounded, sequence-numbered ring of the most recent items: appends number items 1, 2, 3, ...; once
/// <see cref="Capacity"/> items are held, each append evicts the oldest. A reader names the last sequence it saw and
/// gets what came after; when some of that was evicted it is told so (<see cref="WindowRead{T}.Gap"/>) instead of
/// silently skipping. Example: capacity 3, appended a..e (1..5): retained c, d, e (3..5); Read(after 3) gives d, e and no
/// gap; Read(after 1) gives c, d, e with a gap (2 was evicted); Read(after 5) gives nothing, no gap.
/// Not thread-safe: its owner (one grain activation) serialises access.
/// </summary>
public sealed class EventWindow<T>
{
    private readonly T[] _ring;
    private long _last;

    public EventWindow(int capacity)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        _ring = new T[capacity];
    }

    public int Capacity => _ring.Length;

    /// <summary>The sequence of the newest item (0 before the first append).</summary>
    public long Last => _last;

    /// <summary>The sequence of the oldest retained item (<see cref="Last"/> + 1 when empty).</summary>
    public long Oldest => Math.Max(1, _last - _ring.Length + 1);

    /// <summary>Appends <paramref name="item"/>, returns its sequence; <paramref name="evicted"/> is the item pushed out, if any.</summary>
    public long Append(T item, out T? evicted, out bool didEvict)
    {
        _last++;
        var slot = (int)((_last - 1) % _ring.Length);
        didEvict = _last > _ring.Length;
        evicted = didEvict ? _ring[slot] : default;
        _ring[slot] = item;
        return _last;
    }

    /// <summary>Up to <paramref name="max"/> items with a sequence above <paramref name="after"/>, oldest first.</summary>
    public WindowRead<T> Read(long after, int max)
    {
        var oldest = Oldest;
        var from = Math.Max(after + 1, oldest);
        var gap = after + 1 < oldest && _last > 0;
        var items = new List<T>();
        for (var seq = Math.Max(from, 1); seq <= _last && items.Count < max; seq++)
        {
            items.Add(_ring[(int)((seq - 1) % _ring.Length)]);
        }

        return new WindowRead<T>(items, gap, _last == 0 ? 1 : oldest, _last);
    }
}
