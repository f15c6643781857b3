using System.Text.Json;
using FunctionsLlm.Cli.Pipeline;

namespace FunctionsLlm.Cli.Tests.Pipeline;

public sealed class RunOptionsSidecarTests
{
    [Fact]
    public void The_sweep_starts_at_the_runs_rate_then_halves_and_doubles()
    {
        Assert.Equal([1e-3], RunOptionsSidecar.LearningRates(1e-3, 1));
        Assert.Equal([1e-3, 5e-4, 2e-3, 2.5e-4, 4e-3], RunOptionsSidecar.LearningRates(1e-3, 5));
    }

    [Fact]
    public void Candidates_replace_the_users_list_with_a_sweep_and_keep_everything_else()
    {
        var json = RunOptionsSidecar.Compose("""
            {"template": "seed", "hyperparameters": {"lr": 0.01, "loraR": 8}, "candidates": [{"lr": 1}], "sweep": {"loraR": [4, 8]}}
            """, "faq.jsonl.pipeline.json", candidates: 2, modelName: "faq");

        using var document = JsonDocument.Parse(json);
        var root = document.RootElement;
        Assert.Equal("seed", root.GetProperty("template").GetString());
        Assert.Equal("faq", root.GetProperty("modelName").GetString());
        Assert.False(root.TryGetProperty("candidates", out _));
        Assert.Equal([0.01, 0.005], root.GetProperty("sweep").GetProperty("lr").EnumerateArray().Select(e => e.GetDouble()));
        Assert.Equal([4, 8], root.GetProperty("sweep").GetProperty("loraR").EnumerateArray().Select(e => e.GetInt32()));
    }

    [Fact]
    public void Without_overrides_the_users_document_is_kept_and_its_model_name_wins()
    {
        using var document = JsonDocument.Parse(RunOptionsSidecar.Compose("""{"modelName": "mine"}""", "x", candidates: null, modelName: "faq"));
        Assert.Equal("mine", document.RootElement.GetProperty("modelName").GetString());
        Assert.False(document.RootElement.TryGetProperty("sweep", out _));
        Assert.Throws<InvalidDataException>(() => RunOptionsSidecar.Compose("[1]", "x.pipeline.json", null, "faq"));
        Assert.Throws<InvalidDataException>(() => RunOptionsSidecar.Compose("{", "x.pipeline.json", null, "faq"));
    }
}
