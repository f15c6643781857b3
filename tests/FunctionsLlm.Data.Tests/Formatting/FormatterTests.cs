using System.Text.Json;
using FunctionsLlm.Data.Formatting;
using FunctionsLlm.Data.Tokenization;
using FunctionsLlm.Tests;

namespace FunctionsLlm.Data.Tests.Formatting;

public sealed class FormatterTests : IDisposable
{
    private readonly TempFolder _dir = new("flm-format-");
    private static readonly HfTokenizer SampleTokenizer = HfTokenizer.Load(Path.Combine(RepoPaths.Samples, "tokenizer"));
    private static readonly HfTokenizer Qwen3 = HfTokenizer.Load(RepoPaths.Fixture("tokenizers", "qwen3"));

    public void Dispose() => _dir.Dispose();

    private (FormatReport Report, List<Example> Train, List<Example> Eval, List<JsonElement> Rejects) Format(
        HfTokenizer tokenizer, FormattingOptions options, params object[] records)
    {
        var input = Path.Combine(_dir, "cleaned.jsonl");
        File.WriteAllLines(input, records.Select(r => r as string ?? JsonSerializer.Serialize(r)));
        var output = Path.Combine(_dir, "out");
        var report = new Formatter(tokenizer, options).FormatFile(input, output);
        return (report, Examples(Path.Combine(output, Formatter.TrainFile)), Examples(Path.Combine(output, Formatter.EvalFile)),
            File.ReadAllLines(Path.Combine(output, Formatter.RejectedFile)).Select(l => JsonDocument.Parse(l).RootElement.Clone()).ToList());
    }

    private static List<Example> Examples(string path) => File.ReadAllLines(path)
        .Select(l => JsonSerializer.Deserialize<Example>(l)!).ToList();

    private sealed record Example(
        [property: System.Text.Json.Serialization.JsonPropertyName("input_ids")] int[] InputIds,
        [property: System.Text.Json.Serialization.JsonPropertyName("labels")] int[] Labels,
        [property: System.Text.Json.Serialization.JsonPropertyName("line")] long Line,
        [property: System.Text.Json.Serialization.JsonPropertyName("coverage")] double Coverage);

    private static readonly object Alpaca = new { instruction = "可以开发票吗？", input = "订单号YS1024", output = "可以的，下单后在订单详情页申请电子发票即可。" };

    [Fact]
    public void Seed_template_is_the_tutorials_prompt_and_only_the_answer_and_eos_are_learned()
    {
        var (report, train, eval, rejects) = Format(SampleTokenizer, new FormattingOptions { EvalFraction = 0 }, Alpaca);

        var example = Assert.Single(train);
        Assert.Empty(eval);
        Assert.Empty(rejects);
        const string prompt = "### 指令：\n可以开发票吗？\n\n### 输入：\n订单号YS1024\n\n### 输出：\n";
        const string answer = "可以的，下单后在订单详情页申请电子发票即可。<|im_end|>";
        Assert.Equal(SampleTokenizer.Encode(prompt + answer, addSpecialTokens: true), example.InputIds);
        Assert.Equal(answer, SampleTokenizer.Decode(example.Labels.Where(l => l != TokenizedExample.Ignore)));
        var firstLabel = Array.FindIndex(example.Labels, l => l != TokenizedExample.Ignore);
        Assert.Equal(prompt, SampleTokenizer.Decode(example.InputIds[..firstLabel]));
        Assert.All(example.Labels[firstLabel..], l => Assert.NotEqual(TokenizedExample.Ignore, l));
        Assert.Equal(1.0, example.Coverage);
        Assert.Equal(1, report.LabelCoverage.FullyCovered);
    }

    [Fact]
    public void Chat_template_renders_like_the_reference_and_labels_every_assistant_answer_with_its_end_token()
    {
        // chat_expected.json case 4 (rendered by @huggingface/jinja): Qwen3 inserts an empty think block before the last answer.
        var fixture = JsonDocument.Parse(File.ReadAllText(RepoPaths.Fixture("tokenizers", "qwen3", "chat_expected.json")))
            .RootElement.GetProperty("cases")[3];
        var record = new { messages = fixture.GetProperty("messages") };

        var (_, train, _, _) = Format(Qwen3, new FormattingOptions { Template = PromptTemplate.Chat, EvalFraction = 0 }, record);

        var example = Assert.Single(train);
        Assert.Equal(Qwen3.Encode(fixture.GetProperty("rendered").GetString()!), example.InputIds);
        Assert.Equal("您好，我们支持7天无理由退货。商品需保持原包装和标签完整。<|im_end|>",
            Qwen3.Decode(example.Labels.Where(l => l != TokenizedExample.Ignore)));
    }

    [Fact]
    public void Glm_answers_end_with_an_end_token_the_template_does_not_write()
    {
        // GLM-4's template writes no end-of-turn after an answer: one followed by <|user|> learns that token (one of the
        // model's eos ids), the last answer gets eos_token <|endoftext|>, the first eos id; generation stops at any of them.
        var glm = HfTokenizer.Load(RepoPaths.Fixture("models", "tiny-glm"));
        var cases = JsonDocument.Parse(File.ReadAllText(RepoPaths.Fixture("models", "tiny-glm", "chat_expected.json"))).RootElement.GetProperty("cases");
        var record = new
        {
            messages = new[]
            {
                new { role = "user", content = "Hi" },
                new { role = "assistant", content = "Hello! How can I help?" },
                new { role = "user", content = "运费谁出？" },
                new { role = "assistant", content = "您好，质量问题由我们承担运费。" },
            },
        };

        var (_, train, _, _) = Format(glm, new FormattingOptions { Template = PromptTemplate.Chat, EvalFraction = 0 }, record);

        var example = Assert.Single(train);
        // the reference renders (case 2's prefix, case 1's last answer) and the end token
        string rendered = cases[2].GetProperty("rendered").GetString()!.Split("<|user|>\nWhere")[0]
            + "<|user|>\n运费谁出？<|assistant|>\n您好，质量问题由我们承担运费。";
        Assert.Equal(glm.Encode(rendered + "<|endoftext|>"), example.InputIds);
        Assert.Equal("Hello! How can I help?<|user|>您好，质量问题由我们承担运费。<|endoftext|>",
            glm.Decode(example.Labels.Where(l => l != TokenizedExample.Ignore)));
        Assert.Equal(502, example.Labels[^1]);
    }

    [Fact]
    public void A_sentencepiece_style_tokenizer_labels_the_answer_despite_the_space_its_normaliser_puts_before_the_text()
    {
        // spm-bpe (Mistral's vocabulary, Llama-2-chat template): "▁" is put before every stretch between special tokens.
        var spm = HfTokenizer.Load(RepoPaths.Fixture("tokenizers", "spm-bpe"));
        var reference = JsonDocument.Parse(File.ReadAllText(RepoPaths.Fixture("tokenizers", "spm-bpe", "chat_expected.json")))
            .RootElement.GetProperty("cases")[1];
        var messages = reference.GetProperty("messages").EnumerateArray().Take(3).Select(m => new { role = m.GetProperty("role").GetString(), content = m.GetProperty("content").GetString() });

        var (_, train, _, rejects) = Format(spm, new FormattingOptions { Template = PromptTemplate.Chat, EvalFraction = 0 }, new { messages = messages.ToArray() });

        Assert.Empty(rejects);
        var example = Assert.Single(train);
        // @huggingface/jinja's render up to the end of the answer, which the template closes with </s>
        string rendered = reference.GetProperty("rendered").GetString()!;
        Assert.Equal(spm.Encode(rendered[..(rendered.IndexOf("</s>", StringComparison.Ordinal) + "</s>".Length)]), example.InputIds);
        Assert.Equal("It shipped yesterday. </s>", spm.Decode(example.Labels.Where(l => l != TokenizedExample.Ignore)));
        Assert.Equal(spm.TokenToId("</s>"), example.Labels[^1]);
    }

    [Fact]
    public void Multi_turn_conversations_learn_each_answer_and_not_the_user_turns()
    {
        var record = new
        {
            messages = new[]
            {
                new { role = "user", content = "Where is my order?" },
                new { role = "assistant", content = "Could you share your order number?" },
                new { role = "user", content = "A1029" },
                new { role = "assistant", content = "It ships tomorrow from Hangzhou." },
            },
        };

        var (_, train, _, _) = Format(SampleTokenizer, new FormattingOptions { Template = PromptTemplate.Chat, EvalFraction = 0 }, record);

        var example = Assert.Single(train);
        var learned = SampleTokenizer.Decode(example.Labels.Select((l, i) => l == TokenizedExample.Ignore ? -1 : l).Where(l => l >= 0));
        Assert.Equal("Could you share your order number?<|im_end|>It ships tomorrow from Hangzhou.<|im_end|>", learned);
    }

    [Fact]
    public void Truncation_keeps_part_of_the_answer_and_reports_its_coverage_or_rejects_when_nothing_is_left()
    {
        var promptTokens = SampleTokenizer.Encode("### 指令：\n可以开发票吗？\n\n### 输入：\n订单号YS1024\n\n### 输出：\n").Count;

        var partial = Format(SampleTokenizer, new FormattingOptions { EvalFraction = 0, MaxTokens = promptTokens + 5 }, Alpaca);
        var none = Format(SampleTokenizer, new FormattingOptions { EvalFraction = 0, MaxTokens = promptTokens }, Alpaca);

        var example = Assert.Single(partial.Train);
        Assert.Equal(promptTokens + 5, example.InputIds.Length);
        Assert.Equal(5, example.Labels.Count(l => l != TokenizedExample.Ignore));
        Assert.True(example.Coverage is > 0 and < 1);
        Assert.Equal(1, Assert.Single(partial.Report.Truncated).Line);
        Assert.Equal(1, partial.Report.TruncatedRecords);
        Assert.Equal("answer_truncated", Assert.Single(none.Rejects).GetProperty("reason").GetString());
    }

    [Fact]
    public void Every_truncated_record_is_listed_in_its_own_file_and_the_report_keeps_the_first_few()
    {
        var promptTokens = SampleTokenizer.Encode("### 指令：\n可以开发票吗？\n\n### 输入：\n订单号YS1024\n\n### 输出：\n").Count;
        var records = Enumerable.Repeat(Alpaca, FormatReport.TruncatedExamples + 10).ToArray();

        var (report, train, _, _) = Format(SampleTokenizer, new FormattingOptions { EvalFraction = 0, MaxTokens = promptTokens + 5 }, records);

        var listed = File.ReadAllLines(Path.Combine(_dir, "out", Formatter.TruncatedFile)).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        Assert.Equal(records.Length, report.TruncatedRecords);
        Assert.Equal(FormatReport.TruncatedExamples, report.Truncated.Count);
        Assert.Equal(train.Select(e => (e.Line, e.Coverage)), listed.Select(t => (t.GetProperty("line").GetInt64(), t.GetProperty("coverage").GetDouble())));
    }

    [Fact]
    public void Seed_template_refuses_multi_turn_records_with_a_pointer_to_the_chat_template()
    {
        var record = new { instruction = "还有别的吗？", input = "", output = "暂时没有其他优惠活动了，感谢关注。", history = new[] { new[] { "有优惠吗？", "目前满299减30。" } } };

        var (report, train, _, rejects) = Format(SampleTokenizer, new FormattingOptions(), record);

        Assert.Empty(train);
        Assert.Equal("multi_turn_needs_chat_template", Assert.Single(rejects).GetProperty("reason").GetString());
        Assert.Contains("--template chat", rejects[0].GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Equal(1, report.RecordsRejected);
    }

    [Fact]
    public void The_split_depends_on_content_only_and_two_records_always_give_one_eval_record()
    {
        var records = Enumerable.Range(0, 40).Select(i => (object)new { instruction = $"问题{i}", input = "", output = $"这是第{i}个问题的完整答案。" }).ToArray();

        var forward = Format(SampleTokenizer, new FormattingOptions { EvalFraction = 0.25 }, records);
        var evalForward = forward.Eval.Select(e => SampleTokenizer.Decode(e.InputIds)).Order().ToList();
        var backward = Format(SampleTokenizer, new FormattingOptions { EvalFraction = 0.25 }, records.Reverse().ToArray());
        var evalBackward = backward.Eval.Select(e => SampleTokenizer.Decode(e.InputIds)).Order().ToList();
        var pair = Format(SampleTokenizer, new FormattingOptions { EvalFraction = 0.01 }, records[0], records[1]);

        Assert.Equal(evalForward, evalBackward);
        Assert.InRange(forward.Eval.Count, 3, 20);
        Assert.Equal(40, forward.Train.Count + forward.Eval.Count);
        Assert.Equal((1, 1), (pair.Train.Count, pair.Eval.Count));
    }
}
