using FunctionsLlm.Modeling.Generation;
using FunctionsLlm.Serving.Engine;
using FunctionsLlm.Serving.InProcess;
using Microsoft.Extensions.AI;

namespace FunctionsLlm.Serving.Tests.Engine;

public sealed class MultiLoraEngineTests(AdapterModels models) : IClassFixture<AdapterModels>
{
    private static readonly SamplingOptions Greedy = SamplingOptions.Greedy with { StopTokenIds = [] };

    /// <summary>The base and the three adapters, round robin.</summary>
    private static string? ModelOf(int request) => request % 4 == 0 ? null : AdapterModels.Names[(request % 4) - 1];

    [Fact]
    public async Task Sixteen_concurrent_requests_over_the_base_and_three_adapters_each_get_what_its_merged_model_gives_alone()
    {
        var prompts = TestModels.Prompts(16);
        // Two slots for three adapters and eight rows: requests wait for a slot, and adapters are evicted and reloaded.
        using var engine = models.Engine(new EngineOptions { MaxConcurrentSequences = 8, MaxLoras = 2, MaxLoraRank = 8 });

        var results = await Task.WhenAll(prompts.Select((p, i) => Task.Run(() =>
            engine.Submit(p, Greedy with { MaxTokens = 8 + (i % 5) }, engine.Resolve(ModelOf(i) is { } name ? $"{TestModels.Name}:{name}" : null)).Completion)));

        for (int i = 0; i < prompts.Length; i++)
        {
            var alone = models.Alone(ModelOf(i), prompts[i], Greedy with { MaxTokens = 8 + (i % 5) });
            Assert.Equal(alone.TokenIds, results[i].TokenIds);
            Assert.Equal(alone.Text, results[i].Text);
        }
        // Not vacuous: each adapter changes what the base would say for some prompt.
        foreach (string name in AdapterModels.Names)
        {
            Assert.Contains(Enumerable.Range(0, 16).Where(i => ModelOf(i) == name),
                i => !models.Alone(null, prompts[i], Greedy with { MaxTokens = 8 + (i % 5) }).TokenIds.SequenceEqual(results[i].TokenIds));
        }
        // Three adapters went through two slots: one was evicted for another.
        Assert.True(engine.AdapterLoads >= 3, $"{engine.AdapterLoads} loads");
        Assert.Equal(2, engine.ResidentAdapters);
        Assert.Equal(0, engine.ActiveSequences);
    }

    /// <summary>
    /// Long prompts for adapters prefilled in chunks that ride along with decode steps of rows on other adapters and the
    /// base: the adapters are picked per token in that pass, and each answer is its merged model's alone.
    /// </summary>
    [Fact]
    public async Task Long_prompts_for_adapters_prefilled_in_chunks_beside_other_adapters_rows_get_their_merged_models_answer()
    {
        var prompts = Enumerable.Range(0, 8)
            .Select(i => Enumerable.Range(0, i % 2 == 0 ? 40 + (9 * i) : 4 + i).Select(j => 20 + ((i * 29) + (j * 17)) % 480).ToArray())
            .ToArray();
        using var engine = models.Engine(new EngineOptions { MaxConcurrentSequences = 4, MaxLoras = 4, MaxLoraRank = 8, PrefillChunkTokens = 16 });

        var results = await Task.WhenAll(prompts.Select((p, i) => Task.Run(() =>
            engine.Submit(p, Greedy with { MaxTokens = 10 }, engine.Resolve(ModelOf(i) is { } name ? $"{TestModels.Name}:{name}" : null)).Completion)));

        for (int i = 0; i < prompts.Length; i++)
            Assert.Equal(models.Alone(ModelOf(i), prompts[i], Greedy with { MaxTokens = 10 }).TokenIds, results[i].TokenIds);
        Assert.True(engine.ChunksWithSteps > 0);
    }

    [Fact]
    public async Task A_request_waiting_for_a_slot_is_not_starved_by_later_requests_for_the_resident_adapter()
    {
        // One slot, three rows: "support" holds the slot with a long request; "billing" must wait for it. A later
        // "support" request could take a free row at once and keep the slot busy; it waits behind "billing" instead,
        // while a later request for the base goes ahead. The three are submitted back to back while the long request
        // has 199 tokens to go: the queue keeps their order. The order of the ends is the engine's own (EndOrder): the
        // completions' continuations once came in the order billing, base, support again with the other test classes
        // running, though the engine had ended base ~200 steps before billing.
        using var engine = models.Engine(new EngineOptions { MaxConcurrentSequences = 3, MaxLoras = 1, MaxLoraRank = 8, ContextLength = 256 });
        var ends = new EndOrder();
        engine.Events = ends;
        GenerationStream Submit(string label, string? adapter, int tokens) =>
            ends.Submit(label, () => engine.Submit([3, 4, 5], Greedy with { MaxTokens = tokens }, engine.Resolve(adapter)));

        var first = Submit("support", "support", 200);
        await foreach (var _ in first.ReadAllAsync())
            break;
        GenerationStream[] streams = [first, Submit("billing", "billing", 4), Submit("support again", "support", 4), Submit("base", null, 4)];
        await Task.WhenAll(streams.Select(s => s.Completion));

        // Base ran beside the long request; billing took the slot once it was free, before the later support request.
        // Had that request joined the resident support slot, it would have ended before the long one, and billing last.
        Assert.Equal(["base", "support", "billing", "support again"], ends.Labels());
        Assert.Equal(3, engine.AdapterLoads);   // support, billing, support again (2 without the rule)
    }

    [Fact]
    public async Task A_replaced_adapter_finishes_running_requests_on_the_old_version_and_new_ones_get_the_new()
    {
        string name = AdapterModels.Names[0];
        int[] prompt = [31, 7, 99, 4, 250];
        using var engine = models.Engine(new EngineOptions { MaxLoras = 2, MaxLoraRank = 8, ContextLength = 256 });
        var running = engine.Submit(prompt, Greedy with { MaxTokens = 200 }, engine.Resolve(name));
        await foreach (var _ in running.ReadAllAsync())
            break;

        engine.AddAdapter(name, models.AdapterDirectory(AdapterModels.Names[2]), replace: true);
        var after = await engine.Submit(prompt, Greedy with { MaxTokens = 12 }, engine.Resolve(name)).Completion;

        Assert.Equal(models.Alone(name, prompt, Greedy with { MaxTokens = 200 }).TokenIds, (await running.Completion).TokenIds);
        Assert.Equal(models.Alone(AdapterModels.Names[2], prompt, Greedy with { MaxTokens = 12 }).TokenIds, after.TokenIds);
    }

    [Fact]
    public async Task The_in_process_chat_client_targets_an_adapter_by_model_id()
    {
        using var engines = new EngineSlot();
        engines.Swap(models.Engine(new EngineOptions { MaxLoras = 2, MaxLoraRank = 8 }));
        IChatClient client = new EngineChatClient(engines);
        using var served = ServedModel.Load(models.BaseDirectory);
        var prompt = served.ChatPromptIds([("user", "可以开发票吗？")]);

        var response = await client.GetResponseAsync([new ChatMessage(ChatRole.User, "可以开发票吗？")],
            new ChatOptions { ModelId = "billing", Temperature = 0, MaxOutputTokens = 9 });

        Assert.Equal("billing", response.ModelId);
        Assert.Equal(models.Alone("billing", prompt, served.DefaultSampling with { Temperature = 0, MaxTokens = 9 }).Text, response.Text);
        await Assert.ThrowsAsync<EngineRejectedException>(() => client.GetResponseAsync([new ChatMessage(ChatRole.User, "hi")], new ChatOptions { ModelId = "nope" }));
    }

    [Fact]
    public void Unknown_models_and_adapters_that_do_not_fit_are_refused_with_the_reason()
    {
        using var engine = models.Engine(new EngineOptions { MaxLoras = 1, MaxLoraRank = 4 }, "support", "returns");

        var unknown = Assert.Throws<EngineRejectedException>(() => engine.Resolve($"{TestModels.Name}:nope"));
        Assert.Equal(EngineRejection.ModelNotFound, unknown.Reason);
        Assert.Contains("'support'", unknown.Message);
        Assert.Null(engine.Resolve(TestModels.Name));
        Assert.Equal("support", engine.Resolve("support")!.Name);

        var tooLarge = Assert.Throws<EngineRejectedException>(() => engine.AddAdapter("big", models.AdapterDirectory("billing")));
        Assert.Contains("rank 8 is above the largest rank served, 4", tooLarge.Message);
        var taken = Assert.Throws<EngineRejectedException>(() => engine.AddAdapter("support", models.AdapterDirectory("returns")));
        Assert.Contains("already been loaded", taken.Message);
        var badName = Assert.Throws<EngineRejectedException>(() => engine.AddAdapter("a/b", models.AdapterDirectory("returns")));
        Assert.Contains("not a valid adapter name", badName.Message);
        var missing = Assert.Throws<EngineRejectedException>(() => engine.AddAdapter("gone", Path.Combine(models.BaseDirectory, "nowhere")));
        Assert.Contains("adapter_config.json", missing.Message);

        // An adapter that also saved trained copies of the embeddings (modules_to_save) is refused, as vLLM refuses it.
        using var copy = new TempFolder("flm-modules-to-save-");
        foreach (string file in Directory.GetFiles(models.AdapterDirectory("support")))
            File.Copy(file, Path.Combine(copy, Path.GetFileName(file)));
        var config = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(Path.Combine(copy, "adapter_config.json")))!;
        config["modules_to_save"] = new System.Text.Json.Nodes.JsonArray("embed_tokens", "lm_head");
        File.WriteAllText(Path.Combine(copy, "adapter_config.json"), config.ToJsonString());
        var modulesToSave = Assert.Throws<EngineRejectedException>(() => engine.AddAdapter("saved", copy));
        Assert.Contains("modules_to_save is not supported", modulesToSave.Message);
    }
}
