using Deploy.Engine.Domain.Catalog;

namespace Deploy.Engine.Domain.Tests.Catalog;

public class NewestFirstTests
{
    private static readonly DateTimeOffset T0 = new(2026, 12, 5, 7, 0, 0, TimeSpan.Zero);

    private static readonly (string Id, int Minute)[] Items = [("a", 2), ("z", 1), ("c", 3), ("b", 2)];

    private static CatalogCursor Key((string Id, int Minute) i) => new(T0.AddMinutes(i.Minute), i.Id);

    [Fact]
    public void The_worked_example_pages_newest_first_then_by_id_descending()
    {
        var first = NewestFirst.Page(Items, Key, null, 2);
        Assert.Equal(["c", "b"], first.Items.Select(i => i.Id));
        Assert.Equal(new CatalogCursor(T0.AddMinutes(2), "b"), first.Next);

        var second = NewestFirst.Page(Items, Key, first.Next, 2);
        Assert.Equal(["a", "z"], second.Items.Select(i => i.Id));
        Assert.Null(second.Next);
    }

    [Fact]
    public void An_item_created_while_paging_is_neither_repeated_nor_shifts_the_next_page()
    {
        var first = NewestFirst.Page(Items, Key, null, 2);
        var grown = Items.Append((Id: "n", Minute: 9)).ToArray();
        Assert.Equal(["a", "z"], NewestFirst.Page(grown, Key, first.Next, 2).Items.Select(i => i.Id));
    }

    [Theory]
    [InlineData("")]
    [InlineData("not base64!")]
    [InlineData("bm8tY29sb24")]
    [InlineData("OjEyMw")]
    public void A_token_the_server_did_not_issue_is_refused(string token) =>
        Assert.False(CatalogCursor.TryParse(token, out _));

    [Fact]
    public void A_cursor_survives_its_token()
    {
        var cursor = new CatalogCursor(T0.AddTicks(7), "rel-1.staging");
        Assert.True(CatalogCursor.TryParse(cursor.Encode(), out var back));
        Assert.Equal(cursor, back);
        Assert.DoesNotContain('=', cursor.Encode());
    }
}
