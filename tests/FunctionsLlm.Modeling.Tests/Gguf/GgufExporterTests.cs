using System.Text.Json;
using FunctionsLlm.Data.Tokenization;
using FunctionsLlm.Modeling.Checkpoints;
using FunctionsLlm.Modeling.Decoder;
using FunctionsLlm.Modeling.Gguf;
using FunctionsLlm.Tests;
using LLama;
using LLama.Native;
using static TorchSharp.torch;

namespace FunctionsLlm.Modeling.Tests.Gguf;

/// <summary>
/// Exports of the fixture models, run by llama.cpp: its logits, greedy continuations and tokenization from our files
/// are compared with the fixtures' (computed by llama.cpp from llama.cpp's own conversion) and with ours.
/// </summary>
public sealed class GgufExporterTests
{
    public static TheoryData<string> All => FixtureModel.All;

    [Theory]
    [MemberData(nameof(All))]
    public void An_f32_export_gives_llama_cpps_logits_at_every_position(string name)
    {
        var fixture = FixtureModel.Get(name);
        using var folder = new TempFolder();
        string gguf = folder.File("model-f32.gguf");
        var result = GgufExporter.Export(fixture.Directory, gguf, GgmlType.F32);
        Assert.Empty(result.Warnings);

        using var llama = new LlamaCpp(gguf);
        using var model = ModelLoader.Load(fixture.Directory, new ModelLoadOptions(CPU, ScalarType.Float32));
        using var expected = SafetensorsFile.Open(fixture.ExpectedLogitsPath);
        foreach (var (ids, tensorName) in fixture.LogitCases)
        {
            using var scope = NewDisposeScope();
            var theirs = tensor(llama.Logits(ids), [ids.Length, llama.VocabSize]);
            TensorAssert.Close(expected.Read(tensorName).to(ScalarType.Float32), theirs, fixture.Tolerance, $"{name} {tensorName}: fixture vs our file");
            TensorAssert.Close(OurLogits(model, ids), theirs, 1e-3, $"{name} {tensorName}: ours vs our file");
        }
        foreach (var (prompt, greedy) in fixture.GreedyCases)
            Assert.Equal(greedy, llama.Greedy(prompt, greedy.Length));
    }

    /// <summary>
    /// llama.cpp quantizes our F32 file itself (llama_model_quantize, Q8_0, output tensor included); our Q8_0 file must
    /// hold the same bytes in every tensor, and so run the same.
    /// </summary>
    [Theory]
    [MemberData(nameof(All))]
    public void A_q8_0_export_holds_the_blocks_llama_cpps_quantizer_writes(string name)
    {
        var fixture = FixtureModel.Get(name);
        using var folder = new TempFolder();
        string f32 = folder.File("model-f32.gguf"), ours = folder.File("model-q8_0.gguf"), theirs = folder.File("llama-q8_0.gguf");
        GgufExporter.Export(fixture.Directory, f32, GgmlType.F32);
        GgufExporter.Export(fixture.Directory, ours, GgmlType.Q8_0);
        Assert.True(LLamaQuantizer.Quantize(f32, theirs, LLamaFtype.MOSTLY_Q8_0, nthread: 2, allowRequantize: true, quantizeOutputTensor: true));

        var ourTensors = GgufTensorBytes.Read(ours);
        var theirTensors = GgufTensorBytes.Read(theirs);
        Assert.Equal(theirTensors.Keys.Order(StringComparer.Ordinal), ourTensors.Keys.Order(StringComparer.Ordinal));
        foreach (var (tensorName, (type, dims, data)) in theirTensors)
        {
            Assert.True(type == ourTensors[tensorName].Type, $"{tensorName}: llama.cpp wrote type {type}, we wrote {ourTensors[tensorName].Type}");
            Assert.Equal(dims, ourTensors[tensorName].Dims);
            Assert.True(data.AsSpan().SequenceEqual(ourTensors[tensorName].Data), $"{name} {tensorName}: bytes differ from llama.cpp's");
        }
        Assert.Contains(ourTensors.Values, t => t.Type == (uint)GgmlType.Q8_0);

        using var ourRun = new LlamaCpp(ours);
        using var theirRun = new LlamaCpp(theirs);
        foreach (var (prompt, greedy) in fixture.GreedyCases)
            Assert.Equal(theirRun.Greedy(prompt, greedy.Length), ourRun.Greedy(prompt, greedy.Length));
    }

    [Theory]
    [MemberData(nameof(All))]
    public void Llama_cpp_tokenizes_the_fixture_texts_from_the_file_as_we_do(string name)
    {
        var fixture = FixtureModel.Get(name);
        using var folder = new TempFolder();
        string gguf = folder.File("model.gguf");
        GgufExporter.Export(fixture.Directory, gguf, GgmlType.F32);
        var tokenizer = HfTokenizer.Load(fixture.Directory);

        using var llama = new LlamaCpp(gguf);
        using var expected = JsonDocument.Parse(File.ReadAllText(Path.Combine(fixture.Directory, "expected.json")));
        var cases = expected.RootElement.GetProperty("tokenize").EnumerateArray().ToList();
        Assert.NotEmpty(cases);
        foreach (var c in cases)
        {
            string text = c.GetProperty("text").GetString()!;
            int[] ids = [.. c.GetProperty("ids").EnumerateArray().Select(id => id.GetInt32())];
            Assert.Equal(ids, llama.Tokenize(text));
            Assert.Equal(ids, tokenizer.Encode(text));
        }
    }

    [Theory]
    [MemberData(nameof(All))]
    public void The_file_carries_the_chat_template_and_special_tokens(string name)
    {
        var fixture = FixtureModel.Get(name);
        using var folder = new TempFolder();
        string gguf = folder.File("model.gguf");
        GgufExporter.Export(fixture.Directory, gguf, GgmlType.Q8_0);
        var tokenizer = HfTokenizer.Load(fixture.Directory);

        using var llama = new LlamaCpp(gguf);
        Assert.Equal(tokenizer.ChatTemplate, llama.Metadata["tokenizer.chat_template"]);
        Assert.Equal(tokenizer.EosTokenId.ToString(), llama.Metadata["tokenizer.ggml.eos_token_id"]);
        Assert.Equal("gpt2", llama.Metadata["tokenizer.ggml.model"]);
        Assert.Equal("false", llama.Metadata["tokenizer.ggml.add_bos_token"]);
    }

    private static Tensor OurLogits(CausalLM model, int[] ids)
    {
        using var noGrad = no_grad();
        using var input = tensor(ids.Select(id => (long)id).ToArray(), [1, ids.Length]);
        using var logits = model.Forward(input);
        return logits[0].clone();
    }
}
