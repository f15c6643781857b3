using FunctionsLlm.Training.Evaluation;

namespace FunctionsLlm.Training.Tests.Evaluation;

public sealed class ExactMatchTests
{
    [Theory]
    [InlineData("您好，请稍等。", "您好，请稍等。", true)]
    [InlineData("  您好，请稍等。\n", "您好，请稍等。", true)]     // trimmed at both ends
    [InlineData("您好， 请稍等。", "您好，请稍等。", false)]       // inner white space counts
    [InlineData("Hello", "hello", false)]                        // case counts
    [InlineData("ＡＢＣ", "ABC", false)]                          // width counts
    [InlineData("", "  ", true)]
    public void Compares_trimmed_text_ordinally(string candidate, string reference, bool expected) =>
        Assert.Equal(expected, ExactMatch.Of(candidate, reference));
}
