using FunctionsLlm.Data.Cleaning;

namespace FunctionsLlm.Data.Tests.Cleaning;

public sealed class DeduplicationTests
{
    [Fact]
    public void An_alpaca_record_and_the_same_conversation_as_messages_are_duplicates()
    {
        const string alpaca = """{"system": "你是客服。", "instruction": "能开发票吗？", "input": "订单YS1", "output": "可以的，请在订单详情页申请电子发票。", "history": [["你好", "您好，请问有什么可以帮您？"]]}""";
        const string messages = """{"messages": [{"role": "system", "content": "你是客服。"}, {"role": "user", "content": "你好"}, {"role": "assistant", "content": "您好，请问有什么可以帮您？"}, {"role": "user", "content": "能开发票吗？\n订单YS1"}, {"role": "assistant", "content": "可以的，请在订单详情页申请电子发票。"}]}""";

        var run = CleaningRun.OfText(alpaca + "\n" + messages + "\n", new CleaningOptions { Dedup = DedupMode.Exact });

        Assert.Equal([(2L, "duplicate")], run.RejectReasons);
    }

    [Theory]
    [InlineData("ＡＢＣ１２３，可以退货吗？", "abc 123 可以退货吗")]
    [InlineData("Can I RETURN it?!", "can i return it")]
    [InlineData("可以退货吗？\n\n", "可以 退货 吗")]
    public void Width_case_whitespace_and_punctuation_are_ignored_by_normalized_dedup(string first, string second)
    {
        var records = string.Join('\n', new[] { first, second }.Select(q =>
            System.Text.Json.JsonSerializer.Serialize(new { instruction = q, input = "", output = "当然可以，签收后七天内都可以申请。" })));

        var exact = CleaningRun.OfText(records, new CleaningOptions { Dedup = DedupMode.Exact });
        var normalized = CleaningRun.OfText(records, new CleaningOptions { Dedup = DedupMode.Normalized });

        Assert.Empty(exact.Rejects);
        Assert.Equal([(2L, "near_duplicate")], normalized.RejectReasons);
    }

    [Fact]
    public void Different_answers_to_the_same_question_are_kept()
    {
        var records = string.Join('\n', new[] { "七天内可以退货。", "十五天内可以换货。" }.Select(a =>
            System.Text.Json.JsonSerializer.Serialize(new { instruction = "退换货政策？", input = "", output = a + "详情请查看帮助中心。" })));

        Assert.Equal(2, CleaningRun.OfText(records).Kept.Count);
    }
}
