using System.Text.Json.Nodes;
using FunctionsLlm.Modeling.Gguf;
using FunctionsLlm.Tests;

namespace FunctionsLlm.Modeling.Tests.Gguf;

/// <summary>
/// The Modelfile's chat format is chosen by rendering the model's own Jinja template (checked against
/// @huggingface/jinja by the templating tests) on probe conversations; these tests use the fixtures' real templates.
/// </summary>
public sealed class OllamaModelfileTests : IDisposable
{
    private readonly TempFolder _dir = new("flm-modelfile-");

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void A_chatml_model_gets_the_chatml_template_its_end_token_and_greedy_decoding()
    {
        var result = OllamaModelfile.Create(RepoPaths.Fixture("models", "tiny-qwen2"), "m.gguf");

        Assert.Equal("chatml", result.Format);
        Assert.Empty(result.Warnings);
        Assert.StartsWith("FROM ./m.gguf\nTEMPLATE \"\"\"{{- range $i, $_ := .Messages }}", result.Text);
        Assert.DoesNotContain("SYSTEM", result.Text);
        Assert.EndsWith("\"\"\"\nPARAMETER stop \"<|im_end|>\"\nPARAMETER temperature 0\n", result.Text);
    }

    [Fact]
    public void A_glm_model_gets_the_glm_template_and_a_stop_for_each_end_of_turn()
    {
        var result = OllamaModelfile.Create(RepoPaths.Fixture("models", "tiny-glm4"), "m.gguf");

        Assert.Equal("glm4", result.Format);
        Assert.Contains("TEMPLATE \"\"\"[gMASK]<sop>", result.Text);
        Assert.Contains("PARAMETER stop \"<|endoftext|>\"\nPARAMETER stop \"<|user|>\"\nPARAMETER stop \"<|observation|>\"\n", result.Text);
    }

    [Fact]
    public void Qwen3s_real_template_renders_as_chatml()
    {
        string model = ModelWithTokenizer("tiny-qwen3", RepoPaths.Fixture("tokenizers", "qwen3"));
        var result = OllamaModelfile.Create(model, "m.gguf");
        Assert.Equal("chatml", result.Format);
    }

    [Fact]
    public void A_default_system_prompt_of_the_template_becomes_the_modelfiles_system()
    {
        string model = ModelWithTokenizer("tiny-qwen2", RepoPaths.Fixture("models", "tiny-qwen2"));
        var config = JsonNode.Parse(File.ReadAllText(Path.Combine(model, "tokenizer_config.json")))!;
        config["chat_template"] =
            "{% if messages[0]['role'] != 'system' %}{{ '<|im_start|>system\\nYou are a support agent for Contoso.<|im_end|>\\n' }}{% endif %}" +
            "{% for m in messages %}{{ '<|im_start|>' + m['role'] + '\\n' + m['content'] + '<|im_end|>\\n' }}{% endfor %}" +
            "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";
        File.WriteAllText(Path.Combine(model, "tokenizer_config.json"), config.ToJsonString());

        var result = OllamaModelfile.Create(model, "m.gguf");

        Assert.Equal("chatml", result.Format);
        Assert.Contains("\"\"\"\nSYSTEM \"\"\"You are a support agent for Contoso.\"\"\"\n", result.Text);
    }

    [Fact]
    public void A_template_of_no_known_format_gets_no_template_and_a_warning()
    {
        string model = ModelWithTokenizer("tiny-llama", RepoPaths.Fixture("models", "tiny-llama"));
        var config = JsonNode.Parse(File.ReadAllText(Path.Combine(model, "tokenizer_config.json")))!;
        config["chat_template"] = JsonNode.Parse(File.ReadAllText(RepoPaths.Fixture("tokenizers", "spm-bpe", "tokenizer_config.json")))!["chat_template"]!.DeepClone();
        File.WriteAllText(Path.Combine(model, "tokenizer_config.json"), config.ToJsonString());

        var result = OllamaModelfile.Create(model, "m.gguf");

        Assert.Null(result.Format);
        Assert.DoesNotContain("TEMPLATE", result.Text);
        Assert.Contains(result.Warnings, w => w.Contains("renders as none of the formats", StringComparison.Ordinal));
    }

    /// <summary>A fixture model's files with another tokenizer.json and tokenizer_config.json.</summary>
    private string ModelWithTokenizer(string model, string tokenizerDir)
    {
        string dir = FixtureModel.Get(model).CopyTo(_dir.File(model + "-" + Path.GetFileName(tokenizerDir)));
        foreach (string name in new[] { "tokenizer.json", "tokenizer_config.json" })
            File.Copy(Path.Combine(tokenizerDir, name), Path.Combine(dir, name), overwrite: true);
        return dir;
    }
}
