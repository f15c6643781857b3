using FunctionsLlm.Data.Tokenization;
using FunctionsLlm.Modeling.Checkpoints;
using FunctionsLlm.Modeling.Decoder;
using FunctionsLlm.Modeling.Generation;
using static TorchSharp.torch;

namespace FunctionsLlm.Modeling.Tests.Generation;

public class TextGeneratorTests
{
    private static TextGenerator Generator(string name)
    {
        var fixture = FixtureModel.Get(name);
        return new TextGenerator(ModelLoader.Load(fixture.Directory, new ModelLoadOptions(CPU, ScalarType.Float32)),
            HfTokenizer.Load(fixture.Directory));
    }

    [Theory]
    [MemberData(nameof(FixtureModel.All), MemberType = typeof(FixtureModel))]
    public void Greedy_continuations_equal_llama_cpps(string name)
    {
        var fixture = FixtureModel.Get(name);
        var generator = Generator(name);
        Assert.Equal(2, fixture.GreedyCases.Count);
        foreach (var (prompt, expected) in fixture.GreedyCases)
        {
            var result = generator.Generate(prompt, SamplingOptions.Greedy with { MaxTokens = expected.Length, StopTokenIds = [] });
            Assert.Equal(expected, result.TokenIds);
            Assert.Equal(FinishReason.Length, result.FinishReason);
        }
        generator.Model.Dispose();
    }

    [Theory]
    [MemberData(nameof(FixtureModel.All), MemberType = typeof(FixtureModel))]
    public void A_batch_of_prompts_of_different_lengths_generates_what_each_prompt_generates_alone(string name)
    {
        var fixture = FixtureModel.Get(name);
        var generator = Generator(name);
        var prompts = fixture.GreedyCases.Select(c => (IReadOnlyList<int>)c.PromptIds).Append([42, 43]).ToList();
        var options = new SamplingOptions { Temperature = 0.9, TopP = 0.95, TopK = 50, Seed = 7, MaxTokens = 12, StopTokenIds = [] };

        var batched = generator.GenerateBatch(prompts, options);
        for (int b = 0; b < prompts.Count; b++)
        {
            var alone = generator.Generate(prompts[b], options with { Seed = 7 + b });
            Assert.Equal(alone.TokenIds, batched[b].TokenIds);
        }
        var greedyBatch = generator.GenerateBatch(prompts, SamplingOptions.Greedy with { MaxTokens = 8, StopTokenIds = [] });
        Assert.Equal(fixture.GreedyCases.Select(c => c.GreedyIds), greedyBatch.Take(2).Select(r => r.TokenIds.ToArray()));
        generator.Model.Dispose();
    }

    [Fact]
    public void The_same_seed_gives_the_same_sample_and_top_k_1_is_greedy()
    {
        var generator = Generator("tiny-llama");
        int[] prompt = [161, 199, 399, 32, 231, 278, 164];
        var sampling = new SamplingOptions { Temperature = 1.5, TopP = 1, Seed = 1234, MaxTokens = 20, StopTokenIds = [] };

        var first = generator.Generate(prompt, sampling);
        var again = generator.Generate(prompt, sampling);
        var other = generator.Generate(prompt, sampling with { Seed = 99 });
        var topOne = generator.Generate(prompt, sampling with { TopK = 1, MaxTokens = 8 });

        Assert.Equal(first.TokenIds, again.TokenIds);
        Assert.NotEqual(first.TokenIds, other.TokenIds);
        Assert.Equal([402, 22, 503, 196, 132, 4, 339, 187], topOne.TokenIds);
        generator.Model.Dispose();
    }

    [Fact]
    public void Generation_ends_at_a_stop_token_which_is_left_out()
    {
        var generator = Generator("tiny-llama");
        int[] prompt = [161, 199, 399, 32, 231, 278, 164];   // greedy: 402, 22, 503, ...
        var result = generator.Generate(prompt, SamplingOptions.Greedy with { StopTokenIds = [503], MaxTokens = 50 });

        Assert.Equal([402, 22], result.TokenIds);
        Assert.Equal(FinishReason.Stop, result.FinishReason);
        generator.Model.Dispose();
    }

    [Fact]
    public void A_stop_string_cuts_the_text_and_the_stream_never_shows_what_follows()
    {
        var generator = Generator("tiny-qwen2");
        int[] prompt = [227, 252, 321, 505, 117, 312, 417];
        var options = new SamplingOptions { Temperature = 1.0, TopP = 1, Seed = 3, MaxTokens = 40, StopTokenIds = [] };
        var free = generator.Generate(prompt, options);
        Assert.True(free.Text.Length > 6, $"the unconstrained text is too short to cut: '{free.Text}'");
        string stop = free.Text.Substring(free.Text.Length / 2, 2);
        string expected = free.Text[..free.Text.IndexOf(stop, StringComparison.Ordinal)];

        var streamed = new List<string>();
        var cut = generator.Generate(prompt, options with { StopStrings = [stop] }, streamed.Add);

        Assert.Equal(expected, cut.Text);
        Assert.Equal(expected, string.Concat(streamed));
        Assert.Equal(FinishReason.Stop, cut.FinishReason);
        generator.Model.Dispose();
    }

    [Fact]
    public void Streamed_pieces_add_up_to_the_text_and_never_hold_half_a_character()
    {
        var generator = Generator("tiny-qwen3");
        var pieces = new List<string>();
        var result = generator.Generate([377, 261, 358], new SamplingOptions { Temperature = 1.2, TopP = 1, Seed = 11, MaxTokens = 60, StopTokenIds = [] }, pieces.Add);

        Assert.Equal(result.Text, string.Concat(pieces));
        Assert.Equal(generator.Tokenizer.Decode(result.TokenIds, skipSpecialTokens: true), result.Text);
        // A split character would decode as U+FFFD in a piece but not in the whole; the equality above rules that out.
        Assert.All(pieces, p => Assert.False(char.IsHighSurrogate(p[^1]), "a piece ends inside a surrogate pair"));
        generator.Model.Dispose();
    }

    [Theory]
    [MemberData(nameof(FixtureModel.All), MemberType = typeof(FixtureModel))]
    public void Logprobs_are_the_log_softmax_of_llama_cpps_logits(string name)
    {
        var fixture = FixtureModel.Get(name);
        var generator = Generator(name);
        var (ids, tensorName) = fixture.LogitCases[1];
        var result = generator.Generate(ids, SamplingOptions.Greedy with { MaxTokens = 1, StopTokenIds = [], TopLogprobs = 5 });

        using var expectedFile = SafetensorsFile.Open(fixture.ExpectedLogitsPath);
        using var logits = expectedFile.Read(tensorName);
        double[] last = [.. logits[-1].to(ScalarType.Float64).data<double>()];
        double max = last.Max();
        double logSum = max + Math.Log(last.Sum(l => Math.Exp(l - max)));
        var top = last.Select((l, id) => (Id: id, Logprob: l - logSum)).OrderByDescending(p => p.Logprob).Take(5).ToList();

        var chosen = Assert.Single(result.Logprobs);
        Assert.Equal(top[0].Id, chosen.TokenId);
        Assert.Equal(top[0].Logprob, chosen.Logprob, 1e-3);
        Assert.Equal(top.Select(t => t.Id), chosen.TopAlternatives.Select(a => a.TokenId));
        Assert.All(top.Zip(chosen.TopAlternatives), p => Assert.Equal(p.First.Logprob, p.Second.Logprob, 1e-3));
        Assert.Equal(generator.Tokenizer.Decode([chosen.TokenId]), chosen.Token);
        generator.Model.Dispose();
    }

    [Fact]
    public void Sampling_frequencies_follow_the_softmax_of_the_scaled_logits()
    {
        using var logits = tensor(new float[] { 2.0f, 1.0f, 0.0f, -1.0f });
        var options = new SamplingOptions { Temperature = 0.5, TopP = 1 };
        var sampler = new TokenSampler(options, seed: 5, vocabSize: 4, []);
        var counts = new int[4];
        const int draws = 20000;
        for (int i = 0; i < draws; i++)
            counts[sampler.Next(logits)]++;

        double[] scaled = [4.0, 2.0, 0.0, -2.0];
        double norm = scaled.Sum(Math.Exp);
        for (int id = 0; id < 4; id++)
            Assert.Equal(Math.Exp(scaled[id]) / norm, counts[id] / (double)draws, 0.01);
    }

    [Fact]
    public void Top_p_keeps_the_smallest_set_reaching_the_mass_and_top_k_the_k_best()
    {
        // softmax([ln 0.5, ln 0.3, ln 0.15, ln 0.05]) = [0.5, 0.3, 0.15, 0.05]
        using var logits = tensor(new[] { 0.5, 0.3, 0.15, 0.05 }.Select(p => (float)Math.Log(p)).ToArray());
        AssertSupport(new SamplingOptions { Temperature = 1, TopP = 0.75 }, logits, [0, 1]);
        AssertSupport(new SamplingOptions { Temperature = 1, TopP = 0.81 }, logits, [0, 1, 2]);
        AssertSupport(new SamplingOptions { Temperature = 1, TopP = 1, TopK = 3 }, logits, [0, 1, 2]);
        AssertSupport(new SamplingOptions { Temperature = 1, TopP = 0.01 }, logits, [0]);
    }

    [Fact]
    public void The_repetition_penalty_divides_positive_and_multiplies_negative_logits_of_seen_tokens()
    {
        // Seen tokens 0 (logit 2 → 1) and 2 (logit −1 → −2); greedy then prefers the unseen token 1 (logit 1.5).
        using var logits = tensor(new float[] { 2.0f, 1.5f, -1.0f, -1.8f });
        var sampler = new TokenSampler(SamplingOptions.Greedy with { RepetitionPenalty = 2.0 }, 0, 4, [0]);
        Assert.Equal(1, sampler.Next(logits));
        sampler.Remember(1);
        Assert.Equal(0, sampler.Next(logits));   // 1 vs 0.75
        using var negative = tensor(new float[] { -5f, -5f, -1.0f, -1.8f });
        sampler.Remember(2);
        Assert.Equal(3, sampler.Next(negative)); // −1 × 2 = −2 < −1.8
    }

    private static void AssertSupport(SamplingOptions options, Tensor logits, int[] expected)
    {
        var sampler = new TokenSampler(options with { Seed = 1 }, 1, 4, []);
        var seen = Enumerable.Range(0, 3000).Select(_ => sampler.Next(logits)).ToHashSet();
        Assert.Equal(expected, seen.Order());
    }
}
