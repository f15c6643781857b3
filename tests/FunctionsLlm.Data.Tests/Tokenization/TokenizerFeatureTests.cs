using System.Text.Json.Nodes;
using FunctionsLlm.Data.Tokenization;

namespace FunctionsLlm.Data.Tests.Tokenization;

/// <summary>tokenizer.json features the fixtures do not use, checked on edited copies of the tiny-qwen3 tokenizer.</summary>
public sealed class TokenizerFeatureTests
{
    private const int EndOfText = 509;
    private const int ImStart = 510;
    private const int ImEnd = 511;

    private static readonly HfTokenizer s_original = HfTokenizer.Load(TokenizerFixtures.TinyModelDir("tiny-qwen3"));

    [Fact]
    public void Merges_written_as_pairs_give_the_same_ids_as_merges_written_as_strings()
    {
        using var variant = TokenizerJsonVariant.Create(json =>
        {
            var pairs = new JsonArray();
            foreach (var merge in json["model"]!["merges"]!.AsArray())
            {
                var parts = merge!.GetValue<string>().Split(' ');
                pairs.Add(new JsonArray(parts[0], parts[1]));
            }

            json["model"]!["merges"] = pairs;
        });
        var tokenizer = HfTokenizer.Load(variant.Directory);

        foreach (var reference in TokenizerFixtures.TinyModelCases("tiny-qwen3"))
            Assert.Equal(reference.Ids, tokenizer.Encode(reference.Text));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Ignore_merges_maps_a_piece_that_is_in_the_vocabulary_straight_to_its_id(bool ignoreMerges)
    {
        // "Ġworld" is added to the vocabulary without any merge that could build it.
        using var variant = TokenizerJsonVariant.Create(json =>
        {
            json["model"]!["vocab"]!["Ġworld"] = 512;
            json["model"]!["ignore_merges"] = ignoreMerges;
        });
        var tokenizer = HfTokenizer.Load(variant.Directory);

        var ids = tokenizer.Encode("hello world");

        if (ignoreMerges)
            Assert.Equal([.. s_original.Encode("hello"), 512], ids);
        else
            Assert.Equal(s_original.Encode("hello world"), ids);
        Assert.Equal("hello world", tokenizer.Decode(ids));
    }

    [Fact]
    public void Template_post_processor_adds_bos_only_when_special_tokens_are_requested()
    {
        using var variant = TokenizerJsonVariant.Create(json => json["post_processor"] = JsonNode.Parse("""
            {"type": "Sequence", "processors": [
              {"type": "ByteLevel", "add_prefix_space": true, "trim_offsets": false, "use_regex": true},
              {"type": "TemplateProcessing",
               "single": [{"SpecialToken": {"id": "<|endoftext|>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}],
               "pair": [{"Sequence": {"id": "A", "type_id": 0}}, {"Sequence": {"id": "B", "type_id": 1}}],
               "special_tokens": {"<|endoftext|>": {"id": "<|endoftext|>", "ids": [509], "tokens": ["<|endoftext|>"]}}}]}
            """));
        var tokenizer = HfTokenizer.Load(variant.Directory);

        Assert.Equal([EndOfText, .. s_original.Encode("Hi")], tokenizer.Encode("Hi", addSpecialTokens: true));
        Assert.Equal(s_original.Encode("Hi"), tokenizer.Encode("Hi"));
    }

    [Fact]
    public void Config_add_bos_token_prepends_bos_when_there_is_no_template()
    {
        using var variant = TokenizerJsonVariant.Create(editConfig: config =>
        {
            config["bos_token"] = new JsonObject { ["__type"] = "AddedToken", ["content"] = "<|endoftext|>" };
            config["add_bos_token"] = true;
        });
        var tokenizer = HfTokenizer.Load(variant.Directory);

        Assert.Equal(EndOfText, tokenizer.BosTokenId);
        Assert.Equal([EndOfText, .. s_original.Encode("Hi")], tokenizer.Encode("Hi", addSpecialTokens: true));
        Assert.Equal(s_original.Encode("Hi"), tokenizer.Encode("Hi"));
    }

    [Fact]
    public void Added_token_rstrip_and_lstrip_swallow_the_surrounding_whitespace()
    {
        using var variant = TokenizerJsonVariant.Create(json =>
        {
            json["added_tokens"]![2]!["rstrip"] = true; // <|im_end|>
            json["added_tokens"]![1]!["lstrip"] = true; // <|im_start|>
        });
        var tokenizer = HfTokenizer.Load(variant.Directory);

        Assert.Equal([.. s_original.Encode("a"), ImEnd, .. s_original.Encode("b")], tokenizer.Encode("a<|im_end|> \n b"));
        Assert.Equal([.. s_original.Encode("a"), ImStart, .. s_original.Encode("b")], tokenizer.Encode("a \t <|im_start|>b"));
        Assert.Equal([.. s_original.Encode("a "), ImEnd, .. s_original.Encode(" b")], s_original.Encode("a <|im_end|> b"));
    }

    [Fact]
    public void Single_word_added_token_is_not_matched_inside_a_word()
    {
        using var variant = TokenizerJsonVariant.Create(json =>
        {
            json["added_tokens"]!.AsArray().Add(JsonNode.Parse("""
                {"id": 512, "content": "cat", "single_word": true, "lstrip": false, "rstrip": false, "normalized": false, "special": false}
                """));
        });
        var tokenizer = HfTokenizer.Load(variant.Directory);

        Assert.Equal([.. s_original.Encode("a "), 512, .. s_original.Encode(" b")], tokenizer.Encode("a cat b"));
        Assert.Equal(s_original.Encode("concatenate"), tokenizer.Encode("concatenate"));
        Assert.Equal("a cat b", tokenizer.Decode(tokenizer.Encode("a cat b")));
    }

    [Fact]
    public void Longest_added_token_wins_at_the_same_position()
    {
        using var variant = TokenizerJsonVariant.Create(json =>
        {
            json["added_tokens"]!.AsArray().Add(JsonNode.Parse("""
                {"id": 512, "content": "<|im_start|>sys", "single_word": false, "lstrip": false, "rstrip": false, "normalized": false, "special": true}
                """));
        });
        var tokenizer = HfTokenizer.Load(variant.Directory);

        Assert.Equal([512, .. s_original.Encode("tem")], tokenizer.Encode("<|im_start|>system"));
    }

    [Fact]
    public void Split_special_tokens_in_the_config_encodes_them_as_text()
    {
        using var variant = TokenizerJsonVariant.Create(editConfig: config => config["split_special_tokens"] = true);
        var tokenizer = HfTokenizer.Load(variant.Directory);

        var ids = tokenizer.Encode("<|im_start|>user");

        Assert.DoesNotContain(ImStart, ids);
        Assert.Equal("<|im_start|>user", tokenizer.Decode(ids));
    }

    [Fact]
    public void Normalized_added_tokens_are_matched_after_nfc()
    {
        using var variant = TokenizerJsonVariant.Create(json =>
        {
            json["added_tokens"]!.AsArray().Add(JsonNode.Parse("""
                {"id": 512, "content": "café", "single_word": false, "lstrip": false, "rstrip": false, "normalized": true, "special": false}
                """));
        });
        var tokenizer = HfTokenizer.Load(variant.Directory);

        Assert.Equal([512], tokenizer.Encode("cafe\u0301"));
    }

    [Fact]
    public void Text_is_nfc_normalized_before_encoding() =>
        Assert.Equal(s_original.Encode("café"), s_original.Encode("cafe\u0301"));

    [Fact]
    public void Chat_template_list_form_yields_the_default_template()
    {
        using var variant = TokenizerJsonVariant.Create(editConfig: config => config["chat_template"] = JsonNode.Parse("""
            [{"name": "tool_use", "template": "T"}, {"name": "default", "template": "D"}]
            """));

        Assert.Equal("D", HfTokenizer.Load(variant.Directory).ChatTemplate);
    }

    [Fact]
    public void Gpt2_style_byte_level_pre_tokenizer_uses_the_gpt2_pattern()
    {
        using var variant = TokenizerJsonVariant.Create(json => json["pre_tokenizer"] = JsonNode.Parse("""
            {"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": true}
            """));
        var tokenizer = HfTokenizer.Load(variant.Directory);

        // GPT-2 keeps " 123" together where the Qwen pattern splits digits one by one.
        var ids = tokenizer.Encode("Hello world's   123abc");

        Assert.Equal(
            [.. s_original.Encode("Hello"), .. s_original.Encode(" world"), .. s_original.Encode("'s"), .. s_original.Encode("  "),
             .. EncodeAsOnePiece(" 123"), .. s_original.Encode("abc")],
            ids);
        Assert.Equal("Hello world's   123abc", tokenizer.Decode(ids));
    }

    [Fact]
    public void Byte_level_add_prefix_space_prepends_a_space()
    {
        using var variant = TokenizerJsonVariant.Create(json => json["pre_tokenizer"] = JsonNode.Parse("""
            {"type": "ByteLevel", "add_prefix_space": true, "trim_offsets": true, "use_regex": true}
            """));
        var tokenizer = HfTokenizer.Load(variant.Directory);

        Assert.Equal(s_original.Encode(" hello"), tokenizer.Encode("hello"));
        Assert.Equal(s_original.Encode(" hello"), tokenizer.Encode(" hello"));
    }

    private static List<int> EncodeAsOnePiece(string piece)
    {
        using var variant = TokenizerJsonVariant.Create(json => json["pre_tokenizer"] = JsonNode.Parse("""
            {"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": false}
            """));
        return [.. HfTokenizer.Load(variant.Directory).Encode(piece)];
    }
}
