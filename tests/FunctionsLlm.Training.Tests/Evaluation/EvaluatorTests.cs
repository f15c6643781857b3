using System.Text.Json;
using FunctionsLlm.Data.Tokenization;
using FunctionsLlm.Modeling.Checkpoints;
using FunctionsLlm.Modeling.Decoder;
using FunctionsLlm.Modeling.Generation;
using FunctionsLlm.Tests;
using FunctionsLlm.Training.Evaluation;
using static TorchSharp.torch;

namespace FunctionsLlm.Training.Tests.Evaluation;

public sealed class EvaluatorTests : IDisposable
{
    private static readonly string Model = RepoPaths.Fixture("models", "tiny-qwen2");
    private static readonly ModelLoadOptions Cpu = new(CPU, ScalarType.Float32);

    private readonly TempFolder _dir = new("flm-evaluator-");

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void Greedy_answers_reproduce_llama_cpp_and_score_1_against_its_continuation()
    {
        // expected.json → greedy: llama.cpp's argmax continuation of this prompt. As the reference answer (+ <|im_end|>),
        // greedy decoding of 8 tokens must reproduce it exactly: exact match, ROUGE-L and BLEU-4 all 1.
        var (prompt, continuation) = LlamaCppGreedy();
        string data = EvalJsonl.Write(Path.Combine(_dir, "eval.jsonl"), EvalJsonl.Record(prompt, [.. continuation, 511]));

        var report = Evaluator.Run(new EvaluationRequest(Model, Model, data), Options(maxTokens: continuation.Length));

        var record = Assert.Single(report.Records);
        Assert.Equal(HfTokenizer.Load(Model).Decode(continuation), record.Reference);
        foreach (var answer in new[] { record.Base, record.FineTuned })
        {
            Assert.Equal(record.Reference, answer.Text);
            Assert.Equal((true, 1.0, 1.0), (answer.ExactMatch, answer.RougeL, answer.Bleu4));
            Assert.Equal((continuation.Length, FinishReason.Length), (answer.GeneratedTokens, answer.FinishReason));
        }
        foreach (var summary in new[] { report.Base, report.FineTuned })
        {
            Assert.Equal((1.0, 1.0, 1.0, 1.0), (summary.ExactMatch, summary.RougeL, summary.Bleu4, summary.Bleu4SentenceMean));
            Assert.Equal(1, summary.StoppedByLength);
        }
    }

    [Fact]
    public void Eval_loss_is_the_cross_entropy_of_llama_cpp_logits()
    {
        // expected.json → logits[2]: 33 ids and llama.cpp's logits at every position. Label the last 13 tokens; the
        // loss is the mean over t = 19..31 of −log softmax(logits[t])[ids[t + 1]], computed here in double.
        using var fixture = JsonDocument.Parse(File.ReadAllText(Path.Combine(Model, "expected.json")));
        int[] ids = [.. fixture.RootElement.GetProperty("logits")[2].GetProperty("input_ids").EnumerateArray().Select(e => e.GetInt32())];
        using var logitsFile = SafetensorsFile.Open(Path.Combine(Model, "expected_logits.safetensors"));
        using var logitsTensor = logitsFile.Read("logits_2").to(ScalarType.Float32);
        float[] logits = logitsTensor.data<float>().ToArray();
        int vocab = 512, promptLength = 20;
        double expected = Enumerable.Range(promptLength - 1, ids.Length - promptLength)
            .Average(t => -LogSoftmax(logits.AsSpan(t * vocab, vocab), ids[t + 1]));
        string data = EvalJsonl.Write(Path.Combine(_dir, "eval.jsonl"), EvalJsonl.Record(ids[..promptLength], ids[promptLength..]));

        var report = Evaluator.Run(new EvaluationRequest(Model, Model, data), Options(maxTokens: 2));

        Assert.Equal(expected, report.Base.EvalLoss, 1e-3);
        Assert.Equal(Math.Exp(expected), report.Base.Perplexity, Math.Exp(expected) * 1e-3);
        Assert.Equal(report.Base.EvalLoss, report.FineTuned.EvalLoss);
    }

    [Fact]
    public void Record_i_is_sampled_with_seed_plus_i_whatever_the_batch_size()
    {
        var tokenizer = HfTokenizer.Load(Model);
        string data = EvalJsonl.Write(Path.Combine(_dir, "eval.jsonl"),
            EvalJsonl.Chat(tokenizer, "请问怎么退货？", "您好，七天内可以申请退货。"),
            EvalJsonl.Chat(tokenizer, "快递到哪里了？", "您好，您的包裹正在派送中。"),
            EvalJsonl.Chat(tokenizer, "Can I change the address?", "Yes, before the order ships."),
            EvalJsonl.Chat(tokenizer, "发票怎么开？", "下单时填写抬头即可。"),
            EvalJsonl.Chat(tokenizer, "能便宜点吗？", "抱歉，价格已是最低。"));
        var sampling = new SamplingOptions { MaxTokens = 6, Temperature = 0.9, TopP = 1, Seed = 7 };

        var batched = Evaluator.Run(new EvaluationRequest(Model, Model, data), Options(sampling, batchSize: 3));
        var single = Evaluator.Run(new EvaluationRequest(Model, Model, data), Options(sampling, batchSize: 1));

        // Each answer is what the generator gives that prompt alone with seed 7 + i.
        using var lm = ModelLoader.Load(Model, Cpu);
        var generator = new TextGenerator(lm, tokenizer);
        var items = EvalSet.Load(data, tokenizer, 256, 512);
        string[] alone = [.. items.Select((item, i) => generator.Generate(item.Example.PromptIds, sampling with { Seed = 7 + i }).Text.Trim())];
        Assert.Equal(alone, batched.Records.Select(r => r.Base.Text));
        Assert.Equal(alone, batched.Records.Select(r => r.FineTuned.Text));
        Assert.Equal(alone, single.Records.Select(r => r.Base.Text));
        Assert.Equal(batched.Base with { Path = "" }, batched.FineTuned with { Path = "" });
        Assert.Equal(new SamplingSettings(6, 0.9, 1, 0, 1, 7, 3), batched.Sampling);
    }

    [Fact]
    public void Models_with_different_vocabularies_are_refused_before_loading()
    {
        string other = Directory.CreateDirectory(Path.Combine(_dir, "other")).FullName;
        File.WriteAllText(Path.Combine(other, "config.json"),
            File.ReadAllText(Path.Combine(Model, "config.json")).Replace("\"vocab_size\": 512", "\"vocab_size\": 600", StringComparison.Ordinal));
        string data = EvalJsonl.Write(Path.Combine(_dir, "eval.jsonl"), EvalJsonl.Record([1, 2], [3]));

        var e = Assert.Throws<EvaluationException>(() => Evaluator.Run(new EvaluationRequest(Model, other, data), Options(maxTokens: 2)));
        Assert.Equal("the base model has 512 tokens, the fine-tuned model 600: they must share a tokenizer", e.Message);
    }

    [Fact]
    public void Without_metrics_there_is_no_curve_and_the_report_says_why()
    {
        var curve = Evaluator.ReadLossCurve(null);
        Assert.Null(curve.Image);
        Assert.Equal("No loss curve: no training metrics (metrics.jsonl) were given.", curve.Note);
    }

    private static (int[] Prompt, int[] Continuation) LlamaCppGreedy()
    {
        using var fixture = JsonDocument.Parse(File.ReadAllText(Path.Combine(Model, "expected.json")));
        var greedy = fixture.RootElement.GetProperty("greedy")[0];
        return ([.. greedy.GetProperty("prompt_ids").EnumerateArray().Select(e => e.GetInt32())],
            [.. greedy.GetProperty("greedy_ids").EnumerateArray().Select(e => e.GetInt32())]);
    }

    private static EvaluationOptions Options(int maxTokens) =>
        Options(new SamplingOptions { MaxTokens = maxTokens, Temperature = 0, TopP = 1, Seed = 0 }, batchSize: 8);

    private static EvaluationOptions Options(SamplingOptions sampling, int batchSize) =>
        new() { Sampling = sampling, BatchSize = batchSize, Load = Cpu };

    private static double LogSoftmax(ReadOnlySpan<float> logits, int index)
    {
        double max = double.NegativeInfinity;
        foreach (float l in logits)
            max = Math.Max(max, l);
        double sum = 0;
        foreach (float l in logits)
            sum += Math.Exp(l - max);
        return logits[index] - max - Math.Log(sum);
    }
}
