using Azure.Core;
using FunctionsLlm.Core.Contracts;
using FunctionsLlm.Core.Storage;
using FunctionsLlm.Orchestration;
using FunctionsLlm.Orchestration.Tests;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace FunctionsLlm.Pipeline.Tests;

/// <summary>How the pipeline app authenticates to the trainer: its settings, and the TrainerClient that Program registers.</summary>
public sealed class PipelineSettingsTests : IDisposable
{
    private const string Audience = "api://flm-trainer";
    private const string Spec = """
        {"kind": "train", "baseModelPrefix": "base/tiny/", "datasetPrefixes": {"train": "r1/train.jsonl"}, "outputPrefix": "r1-c0/"}
        """;

    private readonly TempFolder _root = new("flm-pipeline-settings-");

    public void Dispose() => _root.Dispose();

    /// <summary>The app's settings with <paramref name="values"/> added or overriding the required ones.</summary>
    private PipelineSettings Read(params (string Key, string Value)[] values) =>
        PipelineSettings.Read(new ConfigurationBuilder()
            .AddInMemoryCollection(new Dictionary<string, string?>
            {
                ["FLM_TRAINER_URL"] = "http://127.0.0.1:8080", ["FLM_MODEL_NAME"] = "m", ["FLM_STORAGE_FOLDER"] = _root,
            })
            .AddInMemoryCollection(values.Select(v => KeyValuePair.Create(v.Key, (string?)v.Value)))
            .Build());

    [Fact]
    public void Printing_the_settings_does_not_print_the_api_key()
    {
        const string key = "k3y-that-must-stay-secret";
        string printed = Read(("FLM_TRAINER_API_KEY", key)).ToString();
        Assert.DoesNotContain(key, printed, StringComparison.Ordinal);
        Assert.Contains("TrainerAuth = API key", printed, StringComparison.Ordinal);
        Assert.Contains("ModelName = m", printed, StringComparison.Ordinal);
    }

    [Fact]
    public void Flm_publish_sets_what_a_run_publishes_by_default_and_a_bad_value_is_named()
    {
        Assert.Equal(PublishMode.Merged, Read().Defaults.Publish);
        Assert.Equal(PublishMode.Both, Read(("FLM_PUBLISH", "both")).Defaults.Publish);
        var bad = Assert.Throws<InvalidOperationException>(() => Read(("FLM_PUBLISH", "lora")));
        Assert.Contains("FLM_PUBLISH must be merged, adapter or both, got 'lora'", bad.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Flm_export_lists_the_files_a_run_publishes_beside_the_model_and_an_unknown_one_is_named()
    {
        Assert.Empty(Read().Defaults.Exports!);
        Assert.Equal(["gguf-q8_0", "gguf-f16"], Read(("FLM_EXPORT", " gguf-q8_0, gguf-f16 ,")).Defaults.Exports);
        var bad = Assert.Throws<InvalidOperationException>(() => Read(("FLM_EXPORT", "gguf-q8_0,gguf")));
        Assert.Contains("FLM_EXPORT: unknown export 'gguf'; known: gguf-f32, gguf-f16, gguf-bf16, gguf-q8_0", bad.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_trainer_auth_audience_is_read_and_asks_for_its_default_scope()
    {
        var entra = Read(("FLM_TRAINER_AUTH_AUDIENCE", $" {Audience} "));
        Assert.Equal((Audience, $"{Audience}/.default", (string?)null), (entra.TrainerAuthAudience, entra.TrainerTokenScope, entra.TrainerApiKey));
        var clientId = Read(("FLM_TRAINER_AUTH_AUDIENCE", "0a1b2c3d-0000-4000-8000-00000000000f"));
        Assert.Equal("0a1b2c3d-0000-4000-8000-00000000000f/.default", clientId.TrainerTokenScope);

        var key = Read(("FLM_TRAINER_API_KEY", "k"));
        Assert.Equal(("k", (string?)null, (string?)null), (key.TrainerApiKey, key.TrainerAuthAudience, key.TrainerTokenScope));
        var neither = Read();
        Assert.Equal(((string?)null, (string?)null), (neither.TrainerApiKey, neither.TrainerAuthAudience));
    }

    [Fact]
    public void The_trainer_auth_audience_and_the_api_key_together_or_an_audience_that_is_no_app_id_are_errors()
    {
        var both = Assert.Throws<InvalidOperationException>(() => Read(("FLM_TRAINER_AUTH_AUDIENCE", Audience), ("FLM_TRAINER_API_KEY", "k")));
        Assert.Contains("set only one of FLM_TRAINER_AUTH_AUDIENCE (Entra ID tokens of the app's managed identity) and FLM_TRAINER_API_KEY", both.Message);
        foreach (string audience in new[] { "flm-trainer", $"{Audience}/.default" })
        {
            var e = Assert.Throws<InvalidOperationException>(() => Read(("FLM_TRAINER_AUTH_AUDIENCE", audience)));
            Assert.Contains("FLM_TRAINER_AUTH_AUDIENCE must be the trainer app registration's client id (a GUID) or application ID URI " +
                $"(api://…), without /.default; got '{audience}'", e.Message);
        }
    }

    [Fact]
    public async Task The_registered_TrainerClient_sends_the_identitys_token_for_the_audience_the_api_key_or_nothing()
    {
        await using var trainer = await FakeTrainer.StartAsync(new LocalFolderStore(_root));
        var url = ("FLM_TRAINER_URL", trainer.Url.ToString());
        var identity = new ScopedCredential(Audience + "/.default");

        trainer.BearerToken = ScopedCredential.Token;
        Assert.Equal(JobState.Queued, (await Registered(Read(url, ("FLM_TRAINER_AUTH_AUDIENCE", Audience)), identity).PutJobAsync("r1-c0", Spec)).State);
        Assert.Equal(1, identity.Calls);

        trainer.BearerToken = FakeTrainer.ApiKey;
        Assert.Equal("r1-c0", (await Registered(Read(url, ("FLM_TRAINER_API_KEY", FakeTrainer.ApiKey))).GetJobAsync("r1-c0")).Id);
        var none = await Assert.ThrowsAsync<TrainerRejectedException>(() => Registered(Read(url)).GetJobAsync("r1-c0"));
        Assert.Contains("refused with 401", none.Message);
        Assert.Equal(1, identity.Calls);
    }

    private static TrainerClient Registered(PipelineSettings settings, TokenCredential? credential = null)
    {
        var services = new ServiceCollection();
        services.AddTrainerClient(settings, credential);
        return services.BuildServiceProvider().GetRequiredService<TrainerClient>();
    }

    /// <summary>The app's identity: its token only for the trainer's scope.</summary>
    private sealed class ScopedCredential(string scope) : TokenCredential
    {
        public const string Token = "pipeline-identity-token";

        private int _calls;

        public int Calls => Volatile.Read(ref _calls);

        public override AccessToken GetToken(TokenRequestContext requestContext, CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref _calls);
            return new AccessToken(requestContext.Scopes.SequenceEqual([scope]) ? Token : "token-for-another-scope", DateTimeOffset.UtcNow.AddHours(1));
        }

        public override ValueTask<AccessToken> GetTokenAsync(TokenRequestContext requestContext, CancellationToken cancellationToken) =>
            new(GetToken(requestContext, cancellationToken));
    }
}
