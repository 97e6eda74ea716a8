namespace Deploy.Engine.Domain.Catalog;

/// <summary>
/// Where a page of a newest-first list starts: the (creation time, id) of the last item already returned. Ordering is
/// by creation time descending, then id descending, so the order is total and stable: an item created while someone
/// pages is either before the cursor (they will not see it on this walk) or after it (they will), never twice.
/// </summary>
public readonly record struct CatalogCursor(DateTimeOffset CreatedAt, string Id)
{
    /// <summary>
    /// An opaque, URL-safe token: base64url of <c>{utcTicks}:{id}</c>. Example: (2026-12-05T07:00Z, "r1") encodes to a
    /// token that <see cref="TryParse"/> turns back into the same cursor.
    /// </summary>
    public string Encode()
    {
        var raw = System.Text.Encoding.UTF8.GetBytes(
            CreatedAt.UtcTicks.ToString(System.Globalization.CultureInfo.InvariantCulture) + ":" + Id);
        return Convert.ToBase64String(raw).TrimEnd('=').Replace('+', '-').Replace('/', '_');
    }

    public static bool TryParse(string? token, out CatalogCursor cursor)
    {
        cursor = default;
        if (string.IsNullOrEmpty(token) || token.Length > 400)
        {
            return false;
        }

        var b64 = token.Replace('-', '+').Replace('_', '/');
        b64 = b64.PadRight(b64.Length + ((4 - (b64.Length % 4)) % 4), '=');
        var bytes = new byte[b64.Length];
        if (!Convert.TryFromBase64String(b64, bytes, out var written))
        {
            return false;
        }

        var text = System.Text.Encoding.UTF8.GetString(bytes, 0, written);
        var colon = text.IndexOf(':', StringComparison.Ordinal);
        if (colon <= 0 || colon == text.Length - 1
            || !long.TryParse(text.AsSpan(0, colon), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var ticks)
            || ticks > DateTimeOffset.MaxValue.UtcTicks)
        {
            return false;
        }

        cursor = new CatalogCursor(new DateTimeOffset(ticks, TimeSpan.Zero), text[(colon + 1)..]);
        return true;
    }
}

/// <summary>One page of a newest-first list and the cursor of the next page (null on the last page).</summary>
public sealed record NewestFirstPage<T>(IReadOnlyList<T> Items, CatalogCursor? Next);

/// <summary>Pages a list newest first (creation time descending, then id descending) with a keyset cursor.</summary>
public static class NewestFirst
{
    /// <summary>
    /// The items strictly after <paramref name="after"/> in newest-first order, at most <paramref name="limit"/>.
    /// Example: items created at 3, 2, 2, 1 (ids c, b, a, z) with limit 2 give [c, b] and a cursor at (2, b); that
    /// cursor gives [a, z] and no next cursor.
    /// </summary>
    public static NewestFirstPage<T> Page<T>(IEnumerable<T> items, Func<T, CatalogCursor> key, CatalogCursor? after, int limit)
    {
        var ordered = items
            .Select(i => (Item: i, Key: key(i)))
            .Where(x => after is not { } a || IsAfter(x.Key, a))
            .OrderByDescending(x => x.Key.CreatedAt)
            .ThenByDescending(x => x.Key.Id, StringComparer.Ordinal)
            .Take(limit + 1)
            .ToList();
        var page = ordered.Take(limit).ToList();
        return new NewestFirstPage<T>(
            page.Select(x => x.Item).ToList(),
            ordered.Count > limit ? page[^1].Key : null);
    }

    /// <summary>True when <paramref name="candidate"/> comes after <paramref name="cursor"/> in newest-first order.</summary>
    public static bool IsAfter(CatalogCursor candidate, CatalogCursor cursor) =>
        candidate.CreatedAt < cursor.CreatedAt
        || (candidate.CreatedAt == cursor.CreatedAt && string.CompareOrdinal(candidate.Id, cursor.Id) < 0);
}
