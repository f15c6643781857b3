using System.Text.Json.Nodes;
using FunctionsLlm.Core.Contracts;
using FunctionsLlm.Tests;

namespace FunctionsLlm.Cli.Tests.Commands;

public sealed class TrainCommandTests : IDisposable
{
    private static readonly string Model = RepoPaths.Fixture("models", "tiny-qwen2");
    private readonly TempFolder _dir = new("flm-cli-train-");

    public void Dispose() => _dir.Dispose();

    private async Task<string> FormattedSamples()
    {
        string clean = Path.Combine(_dir, "clean"), data = Path.Combine(_dir, "data");
        Assert.Equal(0, (await CliRun.Of("clean", Path.Combine(RepoPaths.Samples, "customer-service.jsonl"), "--out", clean)).ExitCode);
        Assert.Equal(0, (await CliRun.Of("format", Path.Combine(clean, "cleaned.jsonl"), "--model", Model, "--template", "chat", "--out", data)).ExitCode);
        return data;
    }

    [Fact]
    public async Task A_llama_folder_with_a_sentencepiece_style_tokenizer_formats_trains_and_generates()
    {
        // Llama 2's kind: Mistral's 32,000-token SentencePiece-style vocabulary and the Llama-2-chat template (spm-bpe), a model from scratch.
        string model = Directory.CreateDirectory(Path.Combine(_dir, "llama-spm")).FullName;
        foreach (string file in new[] { "tokenizer.json", "tokenizer_config.json" })
            File.Copy(RepoPaths.Fixture("tokenizers", "spm-bpe", file), Path.Combine(model, file));
        File.WriteAllText(Path.Combine(model, "config.json"), """
            {"model_type": "llama", "vocab_size": 32000, "hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2,
             "num_attention_heads": 4, "num_key_value_heads": 2, "max_position_embeddings": 512, "rms_norm_eps": 1e-5,
             "bos_token_id": 1, "eos_token_id": 2, "tie_word_embeddings": false}
            """);
        string clean = Path.Combine(_dir, "clean"), data = Path.Combine(_dir, "data"), run = Path.Combine(_dir, "run");
        Assert.Equal(0, (await CliRun.Of("clean", Path.Combine(RepoPaths.Samples, "customer-service.jsonl"), "--out", clean)).ExitCode);

        var format = await CliRun.Of("format", Path.Combine(clean, "cleaned.jsonl"), "--model", model, "--template", "chat", "--out", data);
        var train = await CliRun.Of("train", "--model", model, "--data", data, "--out", run, "--full", "--max-steps", "2", "--batch-size", "2",
            "--grad-accum", "1", "--save-steps", "2", "--eval-steps", "2", "--max-seq-len", "96");
        var generate = await CliRun.Of("generate", "--model", Path.Combine(run, "model"), "--chat", "--prompt", "可以退货吗？", "--max-tokens", "4", "--temperature", "0");

        Assert.True(format.ExitCode == 0, format.Error + format.Output);
        string rejected = File.ReadAllText(Path.Combine(data, "format-rejected.jsonl"));
        Assert.DoesNotContain("tokenizer_alters_text", rejected, StringComparison.Ordinal);
        Assert.DoesNotContain("answer_not_rendered", rejected, StringComparison.Ordinal);
        Assert.True(File.ReadLines(Path.Combine(data, "train.jsonl")).Count() > 10, "most samples were formatted");
        var first = System.Text.Json.JsonDocument.Parse(File.ReadLines(Path.Combine(data, "train.jsonl")).First()).RootElement;
        Assert.Equal(1, first.GetProperty("input_ids")[0].GetInt32());   // <s>, from the template
        Assert.Equal(2, first.GetProperty("labels").EnumerateArray().Last(l => l.GetInt32() != -100).GetInt32());   // answers end with </s>
        Assert.True(train.ExitCode == 0, train.Error + train.Output);
        Assert.Contains("2 steps; eval loss ", train.Output);
        Assert.True(generate.ExitCode == 0, generate.Error);

        // and a LoRA on every linear layer of that model merges through the parity gate
        string lora = Path.Combine(_dir, "lora");
        var adapt = await CliRun.Of("train", "--model", Path.Combine(run, "model"), "--data", data, "--out", lora, "--target-modules", "all-linear",
            "--max-steps", "2", "--batch-size", "2", "--grad-accum", "1", "--save-steps", "2", "--eval-steps", "2", "--max-seq-len", "96");
        Assert.True(adapt.ExitCode == 0, adapt.Error + adapt.Output);
        var merge = await CliRun.Of("merge", "--model", Path.Combine(run, "model"), "--adapter", Path.Combine(lora, "adapter"), "--out", Path.Combine(_dir, "merged"));
        Assert.True(merge.ExitCode == 0, merge.Error + merge.Output);
        Assert.Contains("merged 14 layers into ", merge.Output);
    }

    [Fact]
    public async Task Train_writes_an_adapter_and_resume_latest_continues_from_the_newest_checkpoint()
    {
        string data = await FormattedSamples();
        string run = Path.Combine(_dir, "run");

        var first = await CliRun.Of("train", "--model", Model, "--data", data, "--out", run, "--max-steps", "2", "--batch-size", "2",
            "--grad-accum", "1", "--save-steps", "1", "--eval-steps", "2", "--max-seq-len", "96");

        Assert.Equal(0, first.ExitCode);
        Assert.Contains("LoRA training of", first.Output);
        Assert.Contains("trainable params: ", first.Output);
        Assert.Contains("2 steps; eval loss ", first.Output);
        Assert.True(File.Exists(Path.Combine(run, "adapter", "adapter_model.safetensors")));
        Assert.True(Directory.Exists(Path.Combine(run, "checkpoints", "checkpoint-2")));

        var resumed = await CliRun.Of("train", "--model", Model, "--data", data, "--out", run, "--max-steps", "3", "--batch-size", "2",
            "--grad-accum", "1", "--save-steps", "1", "--eval-steps", "2", "--max-seq-len", "96", "--resume", "latest");
        Assert.Equal(0, resumed.ExitCode);
        Assert.Contains("resumed from", resumed.Error);
        Assert.Contains("3 steps;", resumed.Output);
    }

    [Fact]
    public async Task Resume_latest_without_checkpoints_and_a_bad_scheduler_are_usage_errors()
    {
        string data = Path.Combine(_dir, "data");
        Directory.CreateDirectory(data);
        var noCheckpoint = await CliRun.Of("train", "--model", Model, "--data", data, "--out", Path.Combine(_dir, "run"), "--resume", "latest");
        Assert.Equal(2, noCheckpoint.ExitCode);
        Assert.Contains("--resume latest: no checkpoint", noCheckpoint.Error);

        var scheduler = await CliRun.Of("train", "--model", Model, "--data", data, "--out", Path.Combine(_dir, "run"), "--scheduler", "step");
        Assert.Equal(2, scheduler.ExitCode);
        Assert.Contains("'step' is not one of cosine, linear, constant", scheduler.Error);
    }

    [Fact]
    public async Task Every_hyperparameter_is_an_option_of_train()
    {
        // The contract's own JSON names (a job spec's) and defaults, read from its canonical document.
        var defaults = JsonNode.Parse(new Hyperparameters().ToCanonicalJson())!.AsObject();
        Assert.Equal(typeof(Hyperparameters).GetProperties().Count(p => p.CanWrite), defaults.Count + 4);  // maxSteps, warmupSteps, earlyStoppingPatience, quantize: null

        var help = await CliRun.Of("train", "--help");
        Assert.Equal(0, help.ExitCode);
        foreach (var property in typeof(Hyperparameters).GetProperties().Where(p => p.CanWrite))
        {
            string json = defaults.FirstOrDefault(d => string.Equals(d.Key, property.Name, StringComparison.OrdinalIgnoreCase)).Key
                ?? Alias(property.Name);
            string option = "--" + string.Concat(json.Select((c, i) => char.IsUpper(c) && i > 0 ? $"-{char.ToLowerInvariant(c)}" : c.ToString()));
            var line = help.Output.Split('\n').FirstOrDefault(l => l.TrimStart().StartsWith(option + " ", StringComparison.Ordinal)
                || l.TrimStart().StartsWith(option + ",", StringComparison.Ordinal) || l.Contains($", {option} ", StringComparison.Ordinal));
            Assert.True(line is not null, $"flm train --help does not list {option} (Hyperparameters.{property.Name})");
        }

        static string Alias(string property) => property switch
        {
            "GradientAccumulation" => "gradAccum",
            "LearningRate" => "lr",
            "MaxSequenceLength" => "maxSeqLen",
            _ => char.ToLowerInvariant(property[0]) + property[1..],
        };
    }

    [Fact]
    public async Task A_hyperparameter_out_of_range_is_a_usage_error_naming_its_option()
    {
        string data = Path.Combine(_dir, "data");
        Directory.CreateDirectory(data);
        var run = await CliRun.Of("train", "--model", Model, "--data", data, "--out", Path.Combine(_dir, "run"), "--lr", "-1", "--adam-beta2", "1");
        Assert.Equal(2, run.ExitCode);
        Assert.Contains("--lr must be positive (got -1)", run.Error);
        Assert.Contains("--adam-beta2 must be in [0, 1) (got 1)", run.Error);
    }

    [Fact]
    public async Task Data_that_is_not_formatted_is_an_input_error_with_file_and_line()
    {
        string data = Path.Combine(_dir, "data");
        Directory.CreateDirectory(data);
        File.WriteAllText(Path.Combine(data, "train.jsonl"), "{\"input_ids\": [1, 2, 3], \"labels\": [-100, 2]}\n");

        var run = await CliRun.Of("train", "--model", Model, "--data", data, "--out", Path.Combine(_dir, "run"));

        Assert.Equal(1, run.ExitCode);
        Assert.Contains("train.jsonl:1: 3 input_ids but 2 labels", run.Error);
    }
}
