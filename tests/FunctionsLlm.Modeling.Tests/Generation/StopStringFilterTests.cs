using FunctionsLlm.Modeling.Generation;

namespace FunctionsLlm.Modeling.Tests.Generation;

public class StopStringFilterTests
{
    [Fact]
    public void Text_that_may_start_a_stop_string_is_held_until_decided()
    {
        var filter = new StopStringFilter(["</answer>"]);
        Assert.Equal("Hello ", filter.Push("Hello </"));
        Assert.Equal("</b> ok", filter.Push("b> ok"));
        Assert.Equal("", filter.Push("</ans"));
        Assert.Equal("", filter.Push("wer> more"));
        Assert.True(filter.Stopped);
        Assert.Equal("", filter.Flush());
    }

    [Fact]
    public void The_earliest_of_several_stop_strings_wins_even_within_one_piece()
    {
        var filter = new StopStringFilter(["STOP", "\n\n"]);
        Assert.Equal("a", filter.Push("a\n\nbSTOP"));
        Assert.True(filter.Stopped);
    }

    [Fact]
    public void Without_a_match_flush_returns_the_held_back_text()
    {
        var filter = new StopStringFilter(["###"]);
        Assert.Equal("x", filter.Push("x##"));
        Assert.Equal("##", filter.Flush());
        Assert.False(filter.Stopped);
    }
}
