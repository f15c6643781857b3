using System.Text.Json.Nodes;
using FunctionsLlm.Infrastructure.Tests.Arm;
using FunctionsLlm.Infrastructure.Tests.Bicep;

namespace FunctionsLlm.Infrastructure.Tests;

/// <summary>
/// The pipeline's credential for the trainer, wired on both sides by the deployment and typed by nobody: an Entra ID
/// token for the trainer's app registration (trainerAuthAudience, which deploy.sh and the azd hook create), or,
/// without one, an API key that only Key Vault holds.
/// </summary>
public sealed class TrainerCredentialTests
{
    private const string Audience = "6f1c2a4e-0000-4000-8000-00000000abcd";
    private const string PipelineIdentity = "Microsoft.ManagedIdentity/userAssignedIdentities/id-flm-dev-pipeline";

    [Theory]
    [InlineData("dev")]
    [InlineData("prod")]
    public async Task Entra_mode_trainer_admits_only_the_pipeline_identity_for_the_app_registration(string environment)
    {
        var deployment = (await CompiledBicep.GetAsync()).Deploy(environment, new Dictionary<string, object?> { ["trainerAuthAudience"] = Audience });
        var trainer = TrainerEnv(deployment);
        var pipeline = deployment.PipelineSettings();

        Assert.Equal(Audience, trainer["FLM_TRAINER_AUTH_AUDIENCE"]!.Value);
        Assert.Equal(Audience, pipeline["FLM_TRAINER_AUTH_AUDIENCE"]);
        Assert.Contains("tenant", trainer["FLM_TRAINER_AUTH_TENANT_ID"]!.Value, StringComparison.OrdinalIgnoreCase);
        // The allowed caller is the pipeline identity's client id, which is also the identity the pipeline asks with.
        string caller = trainer["FLM_TRAINER_AUTH_ALLOWED_CALLERS"]!.Value!;
        Assert.Equal($"⟨reference {PipelineIdentity.Replace("dev", environment, StringComparison.Ordinal)}.clientId⟩", caller);
        Assert.Equal(caller, pipeline["AZURE_CLIENT_ID"]);

        Assert.DoesNotContain("FLM_TRAINER_API_KEY", trainer.Keys);
        Assert.DoesNotContain("FLM_TRAINER_API_KEY", pipeline.Keys);
        Assert.Empty(deployment.OfType("Microsoft.KeyVault/vaults"));
        Assert.Equal("entra", deployment.Output("FLM_TRAINER_AUTH"));
    }

    [Fact]
    public async Task Api_key_mode_keeps_the_key_in_key_vault_and_both_apps_read_it_with_their_identity()
    {
        var compiled = await CompiledBicep.GetAsync();
        // First pass: the vault exists, the key does not yet (deploy.sh stores it next); nobody refers to it.
        var first = compiled.Deploy("dev");
        var vault = first.Single("Microsoft.KeyVault/vaults");
        Assert.Equal("true", vault.Evaluated.Text("properties.enableRbacAuthorization"));
        Assert.Equal(vault.Name, first.Output("FLM_VAULT_NAME"));
        Assert.Equal("apiKey", first.Output("FLM_TRAINER_AUTH"));
        Assert.DoesNotContain("FLM_TRAINER_API_KEY", TrainerEnv(first).Keys);
        Assert.DoesNotContain("FLM_TRAINER_API_KEY", first.PipelineSettings().Keys);

        var stored = compiled.Deploy("dev", new Dictionary<string, object?> { ["trainerApiKeyStored"] = true });
        string secretUri = $"⟨reference {stored.Single("Microsoft.KeyVault/vaults").Id()}.vaultUri⟩secrets/trainer-api-key";

        var trainer = ContainerAppsTests.App(stored, "trainer");
        var secret = Assert.Single(trainer["properties"]!["configuration"]!["secrets"]!.AsArray())!;
        Assert.Equal(secretUri, secret.Text("keyVaultUrl"));
        Assert.Equal("Microsoft.ManagedIdentity/userAssignedIdentities/id-flm-dev-trainer", secret.Text("identity"));
        Assert.Null(secret["value"]);
        var key = TrainerEnv(stored)["FLM_TRAINER_API_KEY"]!;
        Assert.Null(key.Value);
        Assert.Equal(secret.Text("name"), key.SecretRef);

        var site = stored.Single("Microsoft.Web/sites").Evaluated;
        Assert.Equal($"@Microsoft.KeyVault(SecretUri={secretUri})", stored.PipelineSettings()["FLM_TRAINER_API_KEY"]);
        Assert.Equal(PipelineIdentity, site.Text("properties.keyVaultReferenceIdentity"));
        Assert.DoesNotContain("FLM_TRAINER_AUTH_AUDIENCE", stored.PipelineSettings().Keys);
        Assert.DoesNotContain("FLM_TRAINER_AUTH_AUDIENCE", TrainerEnv(stored).Keys);
    }

    [Fact]
    public async Task No_parameter_file_carries_a_trainer_credential()
    {
        // Both modes are chosen by what deploy.sh or azd sets in the environment; no file holds a key or an id.
        foreach (string file in CompiledBicep.SourceFiles(".bicepparam"))
        {
            string text = await File.ReadAllTextAsync(Path.Combine(CompiledBicep.BicepDirectory, file));
            Assert.Contains("readEnvironmentVariable('FLM_TRAINER_AUTH_AUDIENCE', '')", text, StringComparison.Ordinal);
            Assert.DoesNotContain("ApiKey =", text, StringComparison.Ordinal);
        }
        var template = (await CompiledBicep.GetAsync()).MainTemplate;
        Assert.DoesNotContain("trainerApiKey\"", template["parameters"]!.AsObject().Select(p => $"{p.Key}\""));
    }

    internal sealed record EnvVar(string? Value, string? SecretRef);

    internal static Dictionary<string, EnvVar> TrainerEnv(ArmDeployment deployment) =>
        ContainerAppsTests.App(deployment, "trainer")["properties"]!["template"]!["containers"]![0]!["env"]!.AsArray()
            .ToDictionary(v => v.Text("name")!, v => new EnvVar(v.Text("value"), v.Text("secretRef")));
}
