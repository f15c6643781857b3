using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using FunctionsLlm.Data.Templating;
using FunctionsLlm.Data.Tokenization;
using FunctionsLlm.Modeling.Decoder;
using FunctionsLlm.Modeling.Generation;

namespace FunctionsLlm.Cli.Commands;

/// <summary><c>flm generate --model DIR --prompt TEXT [--chat] ...</c>: prints a continuation (or chat reply).</summary>
internal static class GenerateCommand
{
    public static Command Create(TextWriter output, TextWriter error)
    {
        var defaults = new SamplingOptions();
        var model = new Option<DirectoryInfo>("--model") { Description = "Hugging Face model folder (config.json, *.safetensors, tokenizer.json).", Required = true };
        var prompt = new Option<string>("--prompt") { Description = "The prompt text (the user message with --chat).", Required = true };
        var chat = new Option<bool>("--chat") { Description = "Render the prompt with the model's chat template as a user turn." };
        var system = new Option<string?>("--system") { Description = "System message (with --chat)." };
        var maxTokens = new Option<int>("--max-tokens") { Description = "Most tokens to generate.", DefaultValueFactory = _ => defaults.MaxTokens };
        var temperature = new Option<double>("--temperature") { Description = "Sampling temperature; 0 is greedy.", DefaultValueFactory = _ => defaults.Temperature };
        var topP = new Option<double>("--top-p") { Description = "Nucleus sampling mass; 1 disables.", DefaultValueFactory = _ => defaults.TopP };
        var topK = new Option<int>("--top-k") { Description = "Sample among the k most likely tokens; 0 disables.", DefaultValueFactory = _ => defaults.TopK };
        var repetition = new Option<double>("--repetition-penalty") { Description = "Penalty on tokens already seen; 1 disables.", DefaultValueFactory = _ => defaults.RepetitionPenalty };
        var seed = new Option<int?>("--seed") { Description = "Seed for reproducible sampling." };
        var stop = new Option<string[]>("--stop") { Description = "Stop string (repeatable).", AllowMultipleArgumentsPerToken = false };
        var stream = new Option<bool>("--stream") { Description = "Print text as it is generated." };
        var command = new Command("generate", "Generate text from a prompt with a model folder.")
        {
            model, prompt, chat, system, maxTokens, temperature, topP, topK, repetition, seed, stop, stream,
        };
        command.SetAction(parse => CommandFailure.Run(error, () =>
        {
            var options = new SamplingOptions
            {
                MaxTokens = parse.GetValue(maxTokens),
                Temperature = parse.GetValue(temperature),
                TopP = parse.GetValue(topP),
                TopK = parse.GetValue(topK),
                RepetitionPenalty = parse.GetValue(repetition),
                Seed = parse.GetValue(seed),
                StopStrings = parse.GetValue(stop) ?? [],
            };
            UsageException.Check(options.Validate);
            string dir = parse.GetValue(model)!.FullName;
            var tokenizer = HfTokenizer.Load(dir);
            var ids = parse.GetValue(chat)
                ? ChatPromptIds(tokenizer, parse.GetValue(system), parse.GetValue(prompt)!)
                : tokenizer.Encode(parse.GetValue(prompt)!, addSpecialTokens: true);
            if (ids.Count == 0)
                throw new UsageException("--prompt: the prompt encodes to no tokens");

            using var lm = ModelLoader.Load(dir, new ModelLoadOptions { PackedWeights = true });   // inference only
            var generator = new TextGenerator(lm, tokenizer);
            bool streaming = parse.GetValue(stream);
            var clock = Stopwatch.StartNew();
            var result = generator.Generate(ids, options, streaming ? text => { output.Write(text); output.Flush(); } : null);
            output.WriteLine(streaming ? "" : result.Text);
            double seconds = clock.Elapsed.TotalSeconds;
            error.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"[{result.PromptTokens} prompt + {result.TokenIds.Count} generated tokens, finish: {result.FinishReason.ToString().ToLowerInvariant()}, {result.TokenIds.Count / Math.Max(seconds, 1e-9):F1} tokens/s]"));
            return FlmCli.Success;
        }));
        return command;
    }

    private static IReadOnlyList<int> ChatPromptIds(HfTokenizer tokenizer, string? system, string user)
    {
        string template = tokenizer.ChatTemplate
            ?? throw new UsageException("--chat: the model's tokenizer_config.json has no chat_template");
        var messages = new List<IReadOnlyDictionary<string, object?>>();
        if (system is not null)
            messages.Add(new Dictionary<string, object?> { ["role"] = "system", ["content"] = system });
        messages.Add(new Dictionary<string, object?> { ["role"] = "user", ["content"] = user });
        string text = ChatTemplateRenderer.Render(template, messages, addGenerationPrompt: true,
            bosToken: tokenizer.BosToken, eosToken: tokenizer.EosToken);
        return tokenizer.Encode(text);
    }
}
