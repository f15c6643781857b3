using System.Text;
using System.Text.Json;
using FunctionsLlm.Data.Cleaning;
using FunctionsLlm.Tests;

namespace FunctionsLlm.Data.Tests.Cleaning;

/// <summary>The alpaca fast path may only be faster: on any input it must write exactly what the general path writes.</summary>
public sealed class FastPathEquivalenceTests
{
    public static TheoryData<string> Inputs()
    {
        var data = new TheoryData<string> { "customer-service.jsonl", "customer-service.json" };
        foreach (var file in Directory.GetFiles(Path.Combine(RepoPaths.Samples, "dirty")).Where(f => !f.EndsWith(".md", StringComparison.Ordinal) && !f.EndsWith(".bin", StringComparison.Ordinal)))
            data.Add(Path.Combine("dirty", Path.GetFileName(file)));
        return data;
    }

    [Theory]
    [MemberData(nameof(Inputs))]
    public void Samples_clean_identically_with_and_without_the_fast_path(string sample)
    {
        var bytes = File.ReadAllBytes(Path.Combine(RepoPaths.Samples, sample));
        AssertSameOutcome(bytes, new CleaningOptions { MaxRecordBytes = 2048 });
    }

    [Theory]
    [InlineData(DedupMode.Normalized)]
    [InlineData(DedupMode.Exact)]
    [InlineData(DedupMode.None)]
    public void Tricky_texts_clean_identically_with_and_without_the_fast_path(DedupMode dedup)
    {
        string[] texts =
        [
            "您好，这款产品支持七天无理由退货。", " leading space", "trailing space ", "\u3000全角空格开头", "结尾全角空格\u3000",
            "Café au lait", "Cafe\u0301 decomposed", "emoji 😀 here", "full-width ＡＢＣ１２３！", "“quoted” … dash — ok",
            "tab\tinside", "line\nbreak", "crlf\r\nbreak", "quote \" and backslash \\", "bell\u0007", "c1\u0085control",
            "nbsp\u00a0inside", "\u00a0nbsp at start", "한국어 텍스트", "日本語のテキスト", "Ext-A 㐀 ideograph", "short",
            "ｶﾀｶﾅ half-width", "math 𝑥 letter", "U+2000\u2000space", "zero\u200bwidth",
        ];
        var random = new Random(7);
        var lines = new StringBuilder();
        for (var i = 0; i < 3000; i++)
        {
            string Pick() => texts[random.Next(texts.Length)] + (random.Next(4) == 0 ? "" : $" #{random.Next(50)}");
            var record = new Dictionary<string, object?> { ["instruction"] = Pick(), ["input"] = random.Next(3) == 0 ? "" : Pick(), ["output"] = Pick() + " 这是一个足够长的答案。" };
            if (random.Next(5) == 0) record["system"] = random.Next(2) == 0 ? "" : Pick();
            if (random.Next(10) == 0) record["extra"] = 1;
            var json = JsonSerializer.Serialize(record, new JsonSerializerOptions { Encoder = random.Next(3) == 0 ? null : System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping });
            lines.Append(json).Append('\n');
        }

        AssertSameOutcome(Encoding.UTF8.GetBytes(lines.ToString()), new CleaningOptions { Dedup = dedup });
    }

    [Fact]
    public void Unusual_json_syntax_cleans_identically_with_and_without_the_fast_path()
    {
        const string answer = "您好，签收后七天内可以申请退货。";
        string[] lines =
        [
            $$"""{"instruction":"退货？","input":"","output":"{{answer}}"}""",
            $$""" { "instruction" : "退货？" ,	"input" : "" , "output" : "{{answer}}" } """,
            $$"""{"output":"{{answer}}","input":"订单1","instruction":"退货？","system":"客服"}""",
            $$"""{"instruction":"退货？","input":"","output":"{{answer}}"} x""",
            $$"""{"instruction":"退货？","input":"","output":"{{answer}}",}""",
            $$"""{"instruction":"退货？","input":"","output":"{{answer}}""",
            $$"""{"instruction":"退货？","instruction":"换货？","input":"","output":"{{answer}}"}""",
            $$"""{"instruction":"退"货？","input":"","output":"{{answer}}"}""",
            $$"""{"instruction":"退货？","input":"","output":"{{answer}}","extra":1}""",
            $$"""{"instruction":"退货？","input":null,"output":"{{answer}}"}""",
            $$"""{"instruction":"退货？","input":"","output":["{{answer}}"]}""",
            $$"""{"instruction" "退货？","input":"","output":"{{answer}}"}""",
            $$"""{"instruction":"退货？""input":"","output":"{{answer}}"}""",
            "{}", "[]", "\"text\"", "{",
            $$"""{"instruction":"退货？","input":"","output":"{{answer}}"}""",
            $$"""{"instruction":"退货？","input":"","output":"{{answer}}"}""" + "\r",
        ];

        AssertSameOutcome(Encoding.UTF8.GetBytes(string.Join('\n', lines) + "\n"), new CleaningOptions { Dedup = DedupMode.None });
    }

    private static void AssertSameOutcome(byte[] input, CleaningOptions options)
    {
        var (fastReport, fastKept, fastRejected) = Clean(input, options);
        var (slowReport, slowKept, slowRejected) = Clean(input, options with { UseFastPath = false });

        Assert.Equal(slowKept, fastKept);
        Assert.Equal(slowRejected, fastRejected);
        Assert.Equal(JsonSerializer.Serialize(slowReport.Rejected), JsonSerializer.Serialize(fastReport.Rejected));
        Assert.Equal(JsonSerializer.Serialize(slowReport.Formats), JsonSerializer.Serialize(fastReport.Formats));
        Assert.Equal((slowReport.RecordsIn, slowReport.RecordsOut), (fastReport.RecordsIn, fastReport.RecordsOut));
    }

    private static (CleaningReport, string, string) Clean(byte[] input, CleaningOptions options)
    {
        using var kept = new MemoryStream();
        using var rejected = new MemoryStream();
        CleaningReport report;
        try
        {
            report = new Cleaner(options).Clean(new MemoryStream(input), kept, rejected);
        }
        catch (FunctionsLlm.Data.Reading.UnreadableInputException)
        {
            return (new CleaningReport(), "unreadable", "");
        }
        return (report, Encoding.UTF8.GetString(kept.ToArray()), Encoding.UTF8.GetString(rejected.ToArray()));
    }
}
