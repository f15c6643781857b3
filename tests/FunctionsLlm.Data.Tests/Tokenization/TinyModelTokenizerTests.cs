using FunctionsLlm.Data.Tokenization;

namespace FunctionsLlm.Data.Tests.Tokenization;

public sealed class TinyModelTokenizerTests
{
    public static TheoryData<string, int> Cases()
    {
        var data = new TheoryData<string, int>();
        foreach (var model in TokenizerFixtures.TinyModels)
        {
            for (var i = 0; i < TokenizerFixtures.TinyModelCases(model).Count; i++)
                data.Add(model, i);
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Encode_matches_reference_ids_and_decodes_back(string model, int index)
    {
        var tokenizer = HfTokenizer.Load(TokenizerFixtures.TinyModelDir(model));
        var reference = TokenizerFixtures.TinyModelCases(model)[index];

        Assert.Equal(reference.Ids, tokenizer.Encode(reference.Text));
        Assert.Equal(reference.Text, tokenizer.Decode(reference.Ids));
    }

    [Theory]
    [MemberData(nameof(TinyModelNames))]
    public void Vocabulary_size_matches_the_model_config(string model)
    {
        var tokenizer = HfTokenizer.Load(TokenizerFixtures.TinyModelDir(model));

        Assert.Equal(512, tokenizer.VocabSize);
    }

    public static TheoryData<string> TinyModelNames() => [.. TokenizerFixtures.TinyModels];
}
