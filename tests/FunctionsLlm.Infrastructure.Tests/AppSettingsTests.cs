using System.Text.RegularExpressions;
using FunctionsLlm.Infrastructure.Tests.Apps;
using FunctionsLlm.Infrastructure.Tests.Arm;
using FunctionsLlm.Infrastructure.Tests.Bicep;
using Microsoft.Extensions.Configuration;

namespace FunctionsLlm.Infrastructure.Tests;

/// <summary>
/// The settings the template gives each app against the code that reads them: every setting the app's settings class
/// requires is there (its Read accepts them), and every FLM_* setting in the template is one the app reads. A setting
/// renamed on one side only is the usual way a deployment breaks at start-up, or silently keeps a default.
/// </summary>
public sealed partial class AppSettingsTests
{
    private const string Audience = "6f1c2a4e-0000-4000-8000-00000000abcd";

    public static TheoryData<string, string, string> Cases()
    {
        var cases = new TheoryData<string, string, string>();
        foreach (string environment in new[] { "dev", "prod" })
        {
            foreach (string mode in new[] { "entra", "apiKey" })
            {
                foreach (string app in new[] { "pipeline", "trainer", "inference" })
                    cases.Add(environment, mode, app);
            }
        }
        return cases;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task The_app_reads_what_the_template_sets_and_has_what_it_requires(string environment, string mode, string app)
    {
        var deployment = (await CompiledBicep.GetAsync()).Deploy(environment, mode == "entra"
            ? new Dictionary<string, object?> { ["trainerAuthAudience"] = Audience }
            : new Dictionary<string, object?> { ["trainerApiKeyStored"] = true });
        var settings = Settings(deployment, app);
        var configuration = new RecordingConfiguration(settings.ToDictionary(s => s.Key, s => Sample(s.Key, s.Value)));

        // Throws naming every missing or malformed setting.
        Action<IConfiguration> read = app switch
        {
            "pipeline" => c => FunctionsLlm.Pipeline.PipelineSettings.Read(c),
            "trainer" => c => FunctionsLlm.Trainer.TrainerSettings.Read(c),
            _ => c => FunctionsLlm.Inference.InferenceSettings.Read(c),
        };
        read(configuration.Root);

        var flm = settings.Keys.Where(k => k.StartsWith("FLM_", StringComparison.Ordinal)).ToList();
        Assert.NotEmpty(flm);
        var unread = flm.Where(k => !configuration.Read.Contains(k)).ToList();
        Assert.True(unread.Count == 0, $"{app} never reads {string.Join(", ", unread)}, which the template sets");
    }

    [Fact]
    public async Task Publishing_adapters_makes_the_inference_app_serve_the_base_the_pipeline_publishes_them_for()
    {
        var deployment = (await CompiledBicep.GetAsync()).Deploy("dev", new Dictionary<string, object?> { ["publish"] = "adapter" });

        var pipeline = FunctionsLlm.Pipeline.PipelineSettings.Read(new RecordingConfiguration(
            Settings(deployment, "pipeline").ToDictionary(s => s.Key, s => Sample(s.Key, s.Value))).Root);
        var inference = Settings(deployment, "inference");
        var served = FunctionsLlm.Inference.InferenceSettings.Read(new RecordingConfiguration(inference.ToDictionary(s => s.Key, s => Sample(s.Key, s.Value))).Root);

        Assert.Equal(FunctionsLlm.Orchestration.PublishMode.Adapter, pipeline.Publish);
        Assert.Equal(pipeline.BaseModelPrefix, served.Adapters!.BaseModelPrefix);
        Assert.False(inference.ContainsKey("FLM_MODEL_NAME"));   // it would name the base as the adapter is named
        Assert.Equal("merged", Settings((await CompiledBicep.GetAsync()).Deploy("dev"), "pipeline")["FLM_PUBLISH"]);
    }

    [Fact]
    public async Task The_export_parameter_reaches_the_pipelines_defaults()
    {
        var deployment = (await CompiledBicep.GetAsync()).Deploy("dev", new Dictionary<string, object?> { ["export"] = "gguf-q8_0" });

        var pipeline = FunctionsLlm.Pipeline.PipelineSettings.Read(new RecordingConfiguration(
            Settings(deployment, "pipeline").ToDictionary(s => s.Key, s => Sample(s.Key, s.Value))).Root);

        Assert.Equal(["gguf-q8_0"], pipeline.Defaults.Exports);
        Assert.Equal("", Settings((await CompiledBicep.GetAsync()).Deploy("dev"), "pipeline")["FLM_EXPORT"]);
    }

    [Fact]
    public async Task A_setting_renamed_in_the_template_is_caught()
    {
        // The check above on a broken copy: the pipeline without FLM_TRAINER_URL, and with an extra FLM_ setting.
        var settings = Settings((await CompiledBicep.GetAsync()).Deploy("dev"), "pipeline")
            .Where(s => s.Key != "FLM_TRAINER_URL").ToDictionary(s => s.Key, s => Sample(s.Key, s.Value));
        settings["FLM_TRAINER_ADDRESS"] = "https://trainer.example";
        var configuration = new RecordingConfiguration(settings);
        var error = Assert.Throws<InvalidOperationException>(() => FunctionsLlm.Pipeline.PipelineSettings.Read(configuration.Root));
        Assert.Contains("FLM_TRAINER_URL", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("FLM_TRAINER_ADDRESS", configuration.Read);
    }

    /// <summary>App settings of the function app, or env of the container app (a Key Vault secret stands for its value).</summary>
    private static Dictionary<string, string?> Settings(ArmDeployment deployment, string app)
    {
        if (app == "pipeline")
            return deployment.PipelineSettings();
        return ContainerAppsTests.App(deployment, app)["properties"]!["template"]!["containers"]![0]!["env"]!.AsArray()
            .ToDictionary(v => v.Text("name")!, v => v.Text("value") ?? (v.Text("secretRef") is { } secret ? $"(Key Vault secret {secret})" : null));
    }

    [GeneratedRegex("⟨[^⟨⟩]*⟩")]
    private static partial Regex InnermostRuntimeValue();

    /// <summary>
    /// A value only known at deployment time (an identity's client id, an endpoint) stands in as a well-formed sample:
    /// the names are under test here, not values nobody can know offline.
    /// </summary>
    private static string? Sample(string name, string? value)
    {
        if (value is null || !value.Contains('⟨', StringComparison.Ordinal))
            return value;
        const char Runtime = '\u0001';
        while (InnermostRuntimeValue().IsMatch(value))
            value = InnermostRuntimeValue().Replace(value, Runtime.ToString());
        if (value.All(c => c == Runtime))
            return name.EndsWith("_URI", StringComparison.Ordinal) || name.EndsWith("_URL", StringComparison.Ordinal)
                ? "https://runtime.example/" : "00000000-0000-0000-0000-000000000001";
        return value.Replace(Runtime.ToString(), "runtime.example", StringComparison.Ordinal);
    }
}
