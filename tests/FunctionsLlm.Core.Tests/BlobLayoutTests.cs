namespace FunctionsLlm.Core.Tests;

/// <summary>The storage contract of DESIGN.md, spelled out: a change here is a breaking change for deployed apps.</summary>
public sealed class BlobLayoutTests
{
    [Fact]
    public void Containers_are_the_five_of_the_design()
    {
        Assert.Equal(["training-data", "datasets", "checkpoints", "models", "runs"], BlobLayout.AllContainers);
        Assert.All(BlobLayout.AllContainers, FunctionsLlm.Core.Storage.ArtifactName.ValidateContainer);
    }

    [Fact]
    public void Artifact_names_follow_the_design()
    {
        Assert.Equal("r1/cleaned.jsonl", BlobLayout.Dataset.Cleaned("r1"));
        Assert.Equal("r1/rejected.jsonl", BlobLayout.Dataset.Rejected("r1"));
        Assert.Equal("r1/report.json", BlobLayout.Dataset.CleaningReport("r1"));
        Assert.Equal("r1/train.jsonl", BlobLayout.Dataset.Train("r1"));
        Assert.Equal("r1/eval.jsonl", BlobLayout.Dataset.Eval("r1"));
        Assert.Equal("support-bot/current.json", BlobLayout.Model.Current("support-bot"));
        Assert.Equal("r1/summary.json", BlobLayout.Run.Summary("r1"));
        Assert.Equal("data.json.pipeline.json", BlobLayout.PipelineOptions("data.json"));
    }
}
