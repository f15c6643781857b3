using FunctionsLlm.Data.Tokenization;
using FunctionsLlm.Tests;
using FunctionsLlm.Training.Evaluation;

namespace FunctionsLlm.Training.Tests.Evaluation;

public sealed class EvalSetTests : IDisposable
{
    private readonly TempFolder _dir = new("flm-eval-set-");
    private readonly HfTokenizer _tokenizer = HfTokenizer.Load(RepoPaths.Fixture("models", "tiny-qwen2"));

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void The_prompt_keeps_special_tokens_and_the_reference_is_the_answer_text()
    {
        string path = EvalJsonl.Write(Path.Combine(_dir, "eval.jsonl"),
            EvalJsonl.Chat(_tokenizer, "请问怎么退货？", " 您好，七天内可以申请退货。"),
            EvalJsonl.Chat(_tokenizer, "Where is my order?", "It ships today."));

        var items = EvalSet.Load(path, _tokenizer, 256, 512);

        Assert.Equal([1, 2], items.Select(i => i.Line));
        Assert.Equal("<|im_start|>user\n请问怎么退货？<|im_end|>\n<|im_start|>assistant\n", items[0].Prompt);
        Assert.Equal("您好，七天内可以申请退货。", items[0].Reference);   // no <|im_end|>, trimmed
        Assert.Equal("It ships today.", items[1].Reference);
    }

    [Fact]
    public void Limit_keeps_the_first_records()
    {
        string path = EvalJsonl.Write(Path.Combine(_dir, "eval.jsonl"),
            EvalJsonl.Record([1, 2], [3]), EvalJsonl.Record([4, 5], [6]), EvalJsonl.Record([7], [8]));
        Assert.Equal([1, 2], EvalSet.Load(path, _tokenizer, 256, 512, limit: 2).Select(i => i.Line));
    }

    [Fact]
    public void A_record_whose_first_token_is_labelled_has_no_prompt()
    {
        string path = EvalJsonl.Write(Path.Combine(_dir, "eval.jsonl"), EvalJsonl.Record([1], [2]), ([3, 4], [3, 4]));
        var e = Assert.Throws<EvaluationException>(() => EvalSet.Load(path, _tokenizer, 256, 512));
        Assert.Equal($"{path}:2: the record has no prompt (its first token is already labelled)", e.Message);
    }
}
