using System.Text.Json;
using FunctionsLlm.Data.Tokenization;
using FunctionsLlm.Tests;

namespace FunctionsLlm.Data.Tests.Tokenization;

/// <summary>TiktokenModel/expected.json: js-tiktoken's ids and decodings for the tiktoken tokenizer.model beside it.</summary>
internal static class TiktokenModelReference
{
    public static readonly string Directory =
        Path.Combine(RepoPaths.Root, "tests", "FunctionsLlm.Data.Tests", "Tokenization", "TiktokenModel");

    private static readonly Lazy<JsonElement> s_expected = new(() =>
        JsonDocument.Parse(File.ReadAllText(Path.Combine(Directory, "expected.json"))).RootElement.Clone());

    /// <summary>The tokenizer of the folder, loaded once.</summary>
    public static HfTokenizer Tokenizer => s_tokenizer.Value;

    private static readonly Lazy<HfTokenizer> s_tokenizer = new(() => HfTokenizer.Load(Directory));

    public sealed record Case(string Text, int[] Ids, string Decoded, string DecodedSkippingSpecial);

    public sealed record DecodeCase(int[] Ids, string Decoded);

    /// <summary>tokenization_chatglm.py's pat_str as the generator transcribed it.</summary>
    public static string PatStr => s_expected.Value.GetProperty("pat_str").GetString()!;

    public static IReadOnlyList<Case> Cases => [.. s_expected.Value.GetProperty("cases").EnumerateArray().Select(entry => new Case(
        entry.GetProperty("text").GetString()!,
        Ids(entry.GetProperty("ids")),
        entry.GetProperty("decoded").GetString()!,
        entry.GetProperty("decoded_skipping_special").GetString()!))];

    public static IReadOnlyList<DecodeCase> DecodeCases => [.. s_expected.Value.GetProperty("decode_cases").EnumerateArray()
        .Select(entry => new DecodeCase(Ids(entry.GetProperty("ids")), entry.GetProperty("decoded").GetString()!))];

    public static TheoryData<int> CaseIndexes() => [.. Enumerable.Range(0, Cases.Count)];

    private static int[] Ids(JsonElement array) => [.. array.EnumerateArray().Select(id => id.GetInt32())];
}
