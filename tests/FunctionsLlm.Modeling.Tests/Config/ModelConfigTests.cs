using FunctionsLlm.Modeling.Config;
using FunctionsLlm.Modeling.Decoder;

namespace FunctionsLlm.Modeling.Tests.Config;

public class ModelConfigTests
{
    [Fact]
    public void The_fixture_configs_read_with_each_familys_rules()
    {
        var llama = ModelConfig.Load(FixtureModel.Get("tiny-llama").Directory);
        var qwen2 = ModelConfig.Load(FixtureModel.Get("tiny-qwen2").Directory);
        var qwen3 = ModelConfig.Load(FixtureModel.Get("tiny-qwen3").Directory);

        Assert.Equal((64, 160, 2, 4, 2, 16, 512, 256), (llama.HiddenSize, llama.IntermediateSize, llama.NumHiddenLayers,
            llama.NumAttentionHeads, llama.NumKeyValueHeads, llama.HeadDim, llama.VocabSize, llama.MaxPositionEmbeddings));
        Assert.Equal((false, false, false, false, 10000.0), (llama.TieWordEmbeddings, llama.QkvBias, llama.OutputBias, llama.QkNorm, llama.RopeTheta));
        Assert.Equal((true, true, false, false, 1e6), (qwen2.TieWordEmbeddings, qwen2.QkvBias, qwen2.OutputBias, qwen2.QkNorm, qwen2.RopeTheta));
        Assert.Equal((true, false, true, 32), (qwen3.TieWordEmbeddings, qwen3.QkvBias, qwen3.QkNorm, qwen3.HeadDim));
        Assert.Equal([511], llama.EosTokenId!);
        Assert.Equal(1e-6, qwen3.RmsNormEps);
        Assert.Equal((16, false, false, false), (llama.RotaryDim, llama.InterleavedRotary, llama.FusedGateUp, llama.SublayerOutputNorms));

        // GLM (README of the fixtures): biases on q/k/v only, half of each head rotated in neighbouring pairs, gate and up fused, eos a list.
        var glm = ModelConfig.Load(FixtureModel.Get("tiny-glm").Directory);
        var glm4 = ModelConfig.Load(FixtureModel.Get("tiny-glm4").Directory);
        foreach (var config in new[] { glm, glm4 })
        {
            Assert.Equal((true, false, 8, true, true, false), (config.QkvBias, config.OutputBias, config.RotaryDim, config.InterleavedRotary,
                config.FusedGateUp, config.TieWordEmbeddings));
            Assert.Equal([502, 509, 511], config.EosTokenId!);
        }
        Assert.Equal((false, true), (glm.SublayerOutputNorms, glm4.SublayerOutputNorms));
    }

    [Fact]
    public void The_generation_config_gives_eos_and_pad_ids()
    {
        var generation = GenerationConfig.Load(FixtureModel.Get("tiny-qwen2").Directory);
        Assert.Equal([511], generation.EosTokenId!);
        Assert.Equal([509], generation.PadTokenId!);
        Assert.False(generation.DoSample);
    }

    [Fact]
    public void Eos_may_be_a_list_and_head_dim_and_kv_heads_default_as_in_transformers()
    {
        var config = ModelConfig.Parse("""
            {"model_type": "llama", "vocab_size": 128256, "hidden_size": 4096, "intermediate_size": 14336,
             "num_hidden_layers": 32, "num_attention_heads": 32, "eos_token_id": [128001, 128008, 128009],
             "rope_scaling": {"factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
                              "original_max_position_embeddings": 8192, "rope_type": "llama3"},
             "rope_theta": 500000.0, "max_position_embeddings": 131072}
            """);
        Assert.Equal([128001, 128008, 128009], config.EosTokenId!);
        Assert.Equal(128, config.HeadDim);
        Assert.Equal(32, config.NumKeyValueHeads);
        Assert.Equal("llama3", config.RopeScaling!.Type);
    }

    [Fact]
    public void Llama3_rope_scaling_keeps_high_frequencies_and_divides_low_ones_by_the_factor()
    {
        var plain = ModelConfig.Parse("""{"model_type":"llama","vocab_size":8,"hidden_size":4096,"intermediate_size":8,"num_hidden_layers":1,"num_attention_heads":32,"rope_theta":500000.0}""");
        var scaled = ModelConfig.Parse("""
            {"model_type":"llama","vocab_size":8,"hidden_size":4096,"intermediate_size":8,"num_hidden_layers":1,"num_attention_heads":32,"rope_theta":500000.0,
             "rope_scaling":{"rope_type":"llama3","factor":8.0,"low_freq_factor":1.0,"high_freq_factor":4.0,"original_max_position_embeddings":8192}}
            """);
        double[] before = RotaryEmbedding.InverseFrequencies(plain);
        double[] after = RotaryEmbedding.InverseFrequencies(scaled);
        for (int i = 0; i < before.Length; i++)
        {
            double wavelength = 2 * Math.PI / before[i];
            if (wavelength < 8192 / 4.0)
                Assert.Equal(before[i], after[i]);
            else if (wavelength > 8192 / 1.0)
                Assert.Equal(before[i] / 8, after[i], 1e-15);
            else
                Assert.InRange(after[i], before[i] / 8, before[i]);
        }
        Assert.Contains(after.Zip(before), p => p.First != p.Second);
    }

    [Fact]
    public void An_unknown_model_type_lists_the_supported_ones()
    {
        var error = Assert.Throws<ModelConfigException>(() => ModelConfig.Parse("""{"model_type": "gpt2"}"""));
        Assert.Contains("model_type 'gpt2' is not supported; supported: llama, mistral, qwen2, qwen3", error.Message);
    }

    [Theory]
    [InlineData("\"rope_scaling\": {\"rope_type\": \"yarn\", \"factor\": 4.0}", "rope_scaling type 'yarn' is not supported; supported: default, linear, llama3")]
    [InlineData("\"hidden_act\": \"gelu\"", "hidden_act 'gelu' is not supported; supported: silu")]
    [InlineData("\"num_key_value_heads\": 3", "num_attention_heads 4 is not a multiple of num_key_value_heads 3")]
    [InlineData("\"hidden_size\": 0", "hidden_size must be a positive integer, found 0")]
    [InlineData("\"use_sliding_window\": true", "use_sliding_window: true is not supported")]
    [InlineData("\"partial_rotary_factor\": 0.1", "partial_rotary_factor 0.1 must be in (0, 1] and give an even number of rotary dimensions of head_dim 16")]
    [InlineData("\"partial_rotary_factor\": 1.5", "partial_rotary_factor 1.5 must be in (0, 1]")]
    public void Unsupported_or_inconsistent_options_are_named(string field, string message)
    {
        string json = "{\"model_type\": \"qwen2\", \"vocab_size\": 8, \"hidden_size\": 64, \"intermediate_size\": 8, " +
            "\"num_hidden_layers\": 1, \"num_attention_heads\": 4, " + field + "}";
        var error = Assert.Throws<ModelConfigException>(() => ModelConfig.Parse(json, "x/config.json"));
        Assert.StartsWith("x/config.json: ", error.Message);
        Assert.Contains(message, error.Message);
    }

    [Fact]
    public void Broken_json_is_a_config_error_not_a_crash()
    {
        var error = Assert.Throws<ModelConfigException>(() => ModelConfig.Parse("{\"model_type\": ", "m/config.json"));
        Assert.StartsWith("m/config.json: not a valid model config", error.Message);
    }
}
