using System.Text.Json.Nodes;
using FunctionsLlm.Data.Tokenization;

namespace FunctionsLlm.Data.Tests.Tokenization;

/// <summary>A tokenizer.model that is no tokenizer, or a broken tiktoken one, fails with the file and the fault named.</summary>
public sealed class TiktokenModelLoadErrorTests : IDisposable
{
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "flm-tiktoken-model-" + Guid.NewGuid().ToString("N"));

    public TiktokenModelLoadErrorTests()
    {
        Directory.CreateDirectory(_directory);
        File.Copy(Path.Combine(TiktokenModelReference.Directory, "tokenizer.model"), ModelPath);
        File.Copy(Path.Combine(TiktokenModelReference.Directory, "tokenizer_config.json"), ConfigPath);
    }

    private string ModelPath => Path.Combine(_directory, "tokenizer.model");

    private string ConfigPath => Path.Combine(_directory, "tokenizer_config.json");

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Theory]
    [InlineData("not a model\n")]
    [InlineData("")]
    [InlineData("AA==\n")]
    public void A_file_that_is_neither_sentencepiece_nor_tiktoken_names_both(string content)
    {
        File.WriteAllText(ModelPath, content);

        var error = AssertLoadFails(ModelPath);

        Assert.Contains("neither a SentencePiece model", error.Message, StringComparison.Ordinal);
        Assert.Contains("tiktoken vocabulary", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("AQ== 1\n!!!! 2\n", "line 3: \"!!!!\" is not a non-empty base64 token")]
    [InlineData("AQ== 1\nAg== two\n", "line 3: rank \"two\" is not a non-negative integer")]
    [InlineData("AQ== 1\nAg==\n", "line 3: expected \"<base64 token> <rank>\", found 1 fields")]
    [InlineData("AQ== 1\n\nAg== 2\n", "line 3: expected \"<base64 token> <rank>\", found 0 fields")]
    [InlineData("AQ== 1\nAQ== 2\n", "line 3: the token is already on line 2 (rank 1)")]
    [InlineData("AQ== 1\nAg== 1\n", "line 3: rank 1 is already on line 2")]
    public void A_broken_line_is_named_by_its_number(string linesAfterTheFirst, string expected)
    {
        File.WriteAllText(ModelPath, "AA== 0\n" + linesAfterTheFirst);

        Assert.Contains(expected, AssertLoadFails(ModelPath).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_vocabulary_without_every_single_byte_is_refused()
    {
        var lines = File.ReadAllLines(ModelPath).Where(line => line != "/w== 255");
        File.WriteAllLines(ModelPath, lines);

        Assert.Contains("no token is the single byte 0xFF", AssertLoadFails(ModelPath).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Without_tokenizer_config_json_the_special_tokens_are_missing()
    {
        File.Delete(ConfigPath);

        Assert.Contains("added_tokens_decoder", AssertLoadFails(ConfigPath).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_config_without_sop_is_refused()
    {
        EditConfig(config =>
        {
            var decoder = config["added_tokens_decoder"]!.AsObject();
            decoder.Remove(decoder.Single(entry => (string?)entry.Value!["content"] == "<sop>").Key);
        });

        Assert.Contains("has no \"<sop>\"", AssertLoadFails(ConfigPath).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_special_token_on_the_rank_of_a_vocabulary_token_is_refused()
    {
        EditConfig(config => config["added_tokens_decoder"]!.AsObject().Add("100", JsonNode.Parse("""{"content": "<|clash|>", "special": true}""")));

        Assert.Contains("\"<|clash|>\" the id 100", AssertLoadFails(ConfigPath).Message, StringComparison.Ordinal);
    }

    private TokenizerLoadException AssertLoadFails(string expectedFile)
    {
        var error = Assert.Throws<TokenizerLoadException>(() => HfTokenizer.Load(_directory));
        Assert.Equal(expectedFile, error.FilePath);
        return error;
    }

    private void EditConfig(Action<JsonObject> edit)
    {
        var config = JsonNode.Parse(File.ReadAllText(ConfigPath))!.AsObject();
        edit(config);
        File.WriteAllText(ConfigPath, config.ToJsonString());
    }
}
