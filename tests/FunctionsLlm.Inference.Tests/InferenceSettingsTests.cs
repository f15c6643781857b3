using Microsoft.Extensions.Configuration;

namespace FunctionsLlm.Inference.Tests;

public class InferenceSettingsTests
{
    private static IConfiguration Config(params (string Key, string Value)[] values) =>
        new ConfigurationBuilder().AddInMemoryCollection(values.Select(v => new KeyValuePair<string, string?>(v.Key, v.Value))).Build();

    [Fact]
    public void Missing_settings_are_all_named_in_one_error()
    {
        var error = Assert.Throws<InvalidOperationException>(() => InferenceSettings.Read(Config(("FLM_POLL_SECONDS", "0"))));
        Assert.Contains("neither FLM_MODEL_NAME", error.Message);
        Assert.Contains("FLM_STORAGE_BLOB_URI", error.Message);
        Assert.Contains("FLM_POLL_SECONDS must be an integer ≥ 1, got '0'", error.Message);
    }

    [Fact]
    public void Settings_map_to_the_follower_and_engine_options()
    {
        var settings = InferenceSettings.Read(Config(("FLM_MODEL_NAME", "support-bot"), ("FLM_STORAGE_BLOB_URI", "https://acct.blob.core.windows.net/"),
            ("FLM_MODEL_CACHE", "/cache"), ("FLM_POLL_SECONDS", "5"), ("FLM_MAX_CONCURRENCY", "16"), ("FLM_BASE_SHA256", new string('c', 64))));

        Assert.Equal(("support-bot", "/cache", new string('c', 64)), (settings.Follower.Model, settings.Follower.CacheRoot, settings.Follower.ExpectedBaseSha256));
        Assert.Equal(TimeSpan.FromSeconds(5), settings.Follower.PollInterval);
        Assert.Equal(16, settings.Follower.Engine.MaxConcurrentSequences);
        Assert.IsType<FunctionsLlm.Core.Storage.BlobArtifactStore>(settings.CreateStore());
    }

    [Fact]
    public void A_base_model_prefix_serves_the_base_with_its_adapters()
    {
        var settings = InferenceSettings.Read(Config(("FLM_BASE_MODEL_PREFIX", "bases/qwen"), ("FLM_STORAGE_BLOB_URI", "https://acct.blob.core.windows.net/"),
            ("FLM_MAX_LORAS", "8"), ("FLM_MAX_LORA_RANK", "32")));

        Assert.Equal(("bases/qwen/", "qwen"), (settings.Adapters!.BaseModelPrefix, settings.Adapters.ServedName));
        Assert.Equal((8, 32), (settings.Adapters.Engine.MaxLoras, settings.Adapters.Engine.MaxLoraRank));
        Assert.Null(InferenceSettings.Read(Config(("FLM_MODEL_NAME", "bot"), ("FLM_STORAGE_BLOB_URI", "https://acct.blob.core.windows.net/"))).Adapters);
    }
}
