using System.CommandLine;
using System.Globalization;
using FunctionsLlm.Modeling.Decoder;
using FunctionsLlm.Modeling.Lora;
using FunctionsLlm.Serving.Engine;
using FunctionsLlm.Serving.Hosting;

namespace FunctionsLlm.Cli.Commands;

/// <summary>
/// <c>flm serve --model MODEL_DIR [--lora NAME=ADAPTER_DIR …] [--host 127.0.0.1] [--port 8080] [--api-key KEY]
/// [--max-concurrency N] [--max-loras 4] [--max-lora-rank 64]</c>: the OpenAI-compatible API (and the tutorial's /generate)
/// on Kestrel until Ctrl+C; each <c>--lora</c> adapter is served unmerged over the model as <c>model: NAME</c>.
/// </summary>
internal static class ServeCommand
{
    public static Command Create(TextWriter output, TextWriter error)
    {
        var defaults = new EngineOptions();
        var model = new Option<DirectoryInfo>("--model") { Description = "Model folder (Hugging Face layout) to serve.", Required = true };
        var name = new Option<string?>("--name") { Description = "The model id clients use (default: the folder's name)." };
        var host = new Option<string>("--host") { Description = "Address to listen on.", DefaultValueFactory = _ => "127.0.0.1" };
        var port = new Option<int>("--port") { Description = "Port to listen on (0 picks a free one).", DefaultValueFactory = _ => 8080 };
        var apiKey = new Option<string?>("--api-key") { Description = "Require 'Authorization: Bearer KEY' on every route but /health." };
        var concurrency = new Option<int>("--max-concurrency") { Description = "Sequences decoded together.", DefaultValueFactory = _ => defaults.MaxConcurrentSequences };
        var queue = new Option<int>("--max-queue") { Description = "Requests that may wait for a free slot; beyond them the answer is 429.", DefaultValueFactory = _ => defaults.MaxQueuedRequests };
        var context = new Option<int?>("--context-length") { Description = "Tokens per sequence, prompt plus completion (default: the model's, at most 4096)." };
        var maxTokens = new Option<int>("--max-tokens-cap") { Description = "The most completion tokens one request may ask for.", DefaultValueFactory = _ => defaults.MaxTokensCap };
        var prefillChunk = new Option<int>("--prefill-chunk") { Description = "Prompts longer than this are prefilled in chunks of at most this many tokens between decode steps.", DefaultValueFactory = _ => defaults.PrefillChunkTokens };
        var prefillStall = new Option<double>("--prefill-stall") { Description = "How long one chunk may take, in decode steps of the running streams (chunks sized from measured times); 0: every chunk --prefill-chunk tokens.", DefaultValueFactory = _ => defaults.PrefillChunkStall };
        var weights = new Option<string>("--weights")
        {
            Description = "f32: the checkpoint's weights in the compute dtype (on a CPU with 512-bit vectors, packed for its kernels); q8_0: every linear weight and the output head in Q8_0 blocks (CPU, as llama.cpp's Q8_0 model).",
            DefaultValueFactory = _ => "f32",
        };
        weights.AcceptOnlyFromAmong("f32", "q8_0");
        var loras = new Option<string[]>("--lora")
        {
            Description = "NAME=ADAPTER_DIR: serve the PEFT adapter over the model as 'model: NAME' (or MODEL:NAME); repeatable.",
            AllowMultipleArgumentsPerToken = true,
        };
        var maxLoras = new Option<int>("--max-loras") { Description = "Adapters resident at once; others load when asked for, evicting the least recently used.", DefaultValueFactory = _ => defaults.MaxLoras };
        var maxLoraRank = new Option<int>("--max-lora-rank") { Description = "The largest adapter rank served.", DefaultValueFactory = _ => defaults.MaxLoraRank };
        var allowLoading = new Option<bool>("--allow-runtime-lora-updating") { Description = "Allow /v1/load_lora_adapter without an API key." };
        var command = new Command("serve", "Serve a model over HTTP: OpenAI-compatible /v1 routes, /generate and /health.")
        {
            model, name, host, port, apiKey, concurrency, queue, context, maxTokens, prefillChunk, prefillStall, weights, loras, maxLoras, maxLoraRank, allowLoading,
        };
        command.SetAction((parse, cancellationToken) => CommandFailure.RunAsync(error, async () =>
        {
            var options = new EngineOptions
            {
                MaxConcurrentSequences = parse.GetValue(concurrency),
                MaxQueuedRequests = parse.GetValue(queue),
                ContextLength = parse.GetValue(context),
                MaxTokensCap = parse.GetValue(maxTokens),
                PrefillChunkTokens = parse.GetValue(prefillChunk),
                PrefillChunkStall = parse.GetValue(prefillStall),
                MaxLoras = parse.GetValue(maxLoras),
                MaxLoraRank = parse.GetValue(maxLoraRank),
            };
            UsageException.Check(options.Validate);
            var adapters = (parse.GetValue(loras) ?? []).Select(ParseLora).ToArray();
            using var stop = new Termination(cancellationToken);
            var load = parse.GetValue(weights) == "q8_0" ? new ModelLoadOptions(TorchSharp.torch.CPU, TorchSharp.torch.ScalarType.Float32) { Q8Weights = true } : null;
            var served = ServedModel.Load(parse.GetValue(model)!.FullName, parse.GetValue(name), load);
            var engines = new EngineSlot();
            var engine = new InferenceEngine(served, options);
            engines.Swap(engine);
            foreach (var (loraName, loraDir) in adapters)
            {
                try
                {
                    engine.AddAdapter(loraName, Path.GetFullPath(loraDir));
                }
                catch (EngineRejectedException e)
                {
                    engines.Dispose();
                    throw new LoraException($"--lora {loraName}={loraDir}: {e.Message}");
                }
            }
            await using var server = await ServingServer.StartAsync(engines,
                new ServeOptions(parse.GetValue(host)!, parse.GetValue(port), parse.GetValue(apiKey), parse.GetValue(allowLoading)), cancellationToken: stop.Token);
            string adapterNames = adapters.Length == 0 ? "" : $" and adapters {string.Join(", ", adapters.Select(a => $"'{a.Name}'"))}";
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"serving '{served.Name}'{(load is null ? "" : " (Q8_0 weights)")}{adapterNames} on {server.Address} (OpenAI API at {new Uri(server.Address, "/v1")}; {options.MaxConcurrentSequences} concurrent sequences); Ctrl+C stops"));
            output.Flush();
            try
            {
                await Task.Delay(Timeout.Infinite, stop.Token);
            }
            catch (OperationCanceledException)
            {
            }
            output.WriteLine("stopped");
            return FlmCli.Success;
        }));
        return command;
    }

    private static (string Name, string Directory) ParseLora(string value)
    {
        int equals = value.IndexOf('=', StringComparison.Ordinal);
        if (equals <= 0 || equals == value.Length - 1)
            throw new UsageException($"--lora {value}: expected NAME=ADAPTER_DIR");
        return (value[..equals], value[(equals + 1)..]);
    }
}
