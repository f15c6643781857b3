using FunctionsLlm.Training.Evaluation;

namespace FunctionsLlm.Training.Tests.Evaluation;

public sealed class CharacterTokensTests
{
    [Fact]
    public void Every_code_point_is_a_token_and_white_space_is_dropped()
    {
        // sacrebleu's tokenize="char" is `" ".join(line)` followed by str.split(): spaces vanish, everything else is one token each.
        Assert.Equal(["您", "好", "a", "b", "，", "c", "😀", "d"], CharacterTokens.Of(" 您好 ab\t，\nc\u3000😀\u001Fd "));
    }

    [Fact]
    public void No_text_gives_no_tokens() => Assert.Empty(CharacterTokens.Of(" \n\t"));
}
