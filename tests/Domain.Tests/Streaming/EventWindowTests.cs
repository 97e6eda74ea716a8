using Deploy.Engine.Domain.Streaming;

namespace Deploy.Engine.Domain.Tests.Streaming;

public class EventWindowTests
{
    /// <summary>The doc comment's example: capacity 3, a..e appended (1..5), c, d, e retained.</summary>
    [Theory]
    [InlineData(3, 10, "de", false)]
    [InlineData(1, 10, "cde", true)]
    [InlineData(0, 10, "cde", true)]
    [InlineData(2, 10, "cde", false)]
    [InlineData(5, 10, "", false)]
    [InlineData(2, 2, "cd", false)]
    public void Reads_what_came_after_and_says_when_some_was_evicted(long after, int max, string expected, bool gap)
    {
        var window = new EventWindow<char>(3);
        foreach (var c in "abcde") window.Append(c, out _, out _);

        var read = window.Read(after, max);

        Assert.Equal(expected, new string(read.Items.ToArray()));
        Assert.Equal(gap, read.Gap);
        Assert.Equal(3, read.Oldest);
        Assert.Equal(5, read.Last);
    }

    [Fact]
    public void Appends_number_from_one_and_hand_back_what_they_evict()
    {
        var window = new EventWindow<string>(2);
        Assert.Equal(1, window.Append("a", out _, out var evictedFirst));
        Assert.False(evictedFirst);
        window.Append("b", out _, out _);
        Assert.Equal(3, window.Append("c", out var evicted, out var didEvict));
        Assert.True(didEvict);
        Assert.Equal("a", evicted);
    }

    [Fact]
    public void An_empty_window_has_nothing_and_no_gap()
    {
        var read = new EventWindow<int>(4).Read(0, 10);
        Assert.Empty(read.Items);
        Assert.False(read.Gap);
        Assert.Equal(0, read.Last);
    }
}
