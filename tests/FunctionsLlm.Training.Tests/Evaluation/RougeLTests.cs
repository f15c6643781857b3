using FunctionsLlm.Training.Evaluation;

namespace FunctionsLlm.Training.Tests.Evaluation;

public sealed class RougeLTests
{
    [Fact]
    public void Longest_common_subsequence_of_the_textbook_example_is_4()
    {
        // CLRS 3rd ed. §15.4: X = ABCBDAB, Y = BDCABA have LCS length 4 (e.g. BCBA).
        Assert.Equal(4, RougeL.LongestCommonSubsequence(CharacterTokens.Of("ABCBDAB"), CharacterTokens.Of("BDCABA")));
    }

    [Fact]
    public void Textbook_example_scores()
    {
        // LCS 4, candidate 7 chars, reference 6: P = 4/7, R = 4/6, F1 = 2PR/(P+R) = (32/42)/(52/42) = 8/13.
        var score = RougeL.Characters("ABCBDAB", "BDCABA");
        Assert.Equal(4.0 / 7, score.Precision, 12);
        Assert.Equal(4.0 / 6, score.Recall, 12);
        Assert.Equal(8.0 / 13, score.F1, 12);
    }

    [Fact]
    public void Chinese_characters_are_the_tokens()
    {
        // candidate 我想查询订单 (6), reference 请帮我查询一下订单 (9): LCS 我查询订单 = 5.
        // P = 5/6, R = 5/9, F1 = 2·(25/54) / (75/54) = 2/3.
        var score = RougeL.Characters("我想查询订单", "请帮我查询一下订单");
        Assert.Equal(5.0 / 6, score.Precision, 12);
        Assert.Equal(5.0 / 9, score.Recall, 12);
        Assert.Equal(2.0 / 3, score.F1, 12);
    }

    [Fact]
    public void Word_tokens_give_rouge_score_s_sentence_rouge_l()
    {
        // rouge-score's README pair (lower-cased, as its tokenizer does). Target: the quick brown fox jumps over the
        // lazy dog (9); prediction: the quick brown dog jumps on the log (8); LCS "the quick brown jumps the" = 5.
        // P = 5/8, R = 5/9, F1 = 2·(25/72) / (85/72) = 10/17.
        var score = RougeL.Score("the quick brown dog jumps on the log".Split(' '), "the quick brown fox jumps over the lazy dog".Split(' '));
        Assert.Equal(5.0 / 8, score.Precision, 12);
        Assert.Equal(5.0 / 9, score.Recall, 12);
        Assert.Equal(10.0 / 17, score.F1, 12);
    }

    [Fact]
    public void White_space_does_not_count_and_identical_text_scores_1() =>
        Assert.Equal(new RougeScore(1, 1, 1), RougeL.Characters("退 货\n流程", "退货流程"));

    [Theory]
    [InlineData("", "退货")]
    [InlineData("退货", " ")]
    [InlineData("", "")]
    [InlineData("换货", "退款")]
    public void Empty_sides_and_no_common_character_score_0(string candidate, string reference) =>
        Assert.Equal(new RougeScore(0, 0, 0), RougeL.Characters(candidate, reference));
}
