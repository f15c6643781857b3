using System.Text.Json.Nodes;
using FunctionsLlm.Infrastructure.Tests.Arm;
using FunctionsLlm.Infrastructure.Tests.Bicep;

namespace FunctionsLlm.Infrastructure.Tests;

/// <summary>dev is small and scales to zero on a T4; prod runs an A100 with a warm inference replica.</summary>
public sealed class EnvironmentParametersTests
{
    [Fact]
    public async Task Dev_is_a_T4_that_scales_to_zero_with_small_limits()
    {
        var parameters = await Parameters("env/dev.json");
        Assert.Equal("dev", parameters["environmentName"]);
        Assert.Equal("Consumption-GPU-NC8as-T4", parameters["gpuProfileType"]);
        Assert.Equal(0L, parameters["inferenceMinReplicas"]);
        Assert.Equal(1L, parameters["inferenceMaxReplicas"]);
        Assert.Equal(1L, parameters["trainerMaxReplicas"]);
        Assert.True((long)parameters["pipelineMaxInstances"]! <= 10);
        Assert.Equal(false, parameters["subscribeBlobEvents"]);
        Assert.Equal("", parameters["trainerImage"]);
    }

    [Fact]
    public async Task Prod_is_an_A100_with_zone_redundant_storage()
    {
        var parameters = await Parameters("env/prod.json");
        Assert.Equal("prod", parameters["environmentName"]);
        Assert.Equal("Consumption-GPU-NC24-A100", parameters["gpuProfileType"]);
        Assert.True((long)parameters["inferenceMinReplicas"]! >= 1);
        Assert.Equal("Standard_ZRS", parameters["storageSku"]);
    }

    [Fact]
    public async Task Azd_parameters_default_to_the_dev_sizes()
    {
        var parameters = await Parameters("main.json");
        Assert.Equal("dev", parameters["environmentName"]);
        Assert.Equal("Consumption-GPU-NC8as-T4", parameters["gpuProfileType"]);
        Assert.Equal(false, parameters["subscribeBlobEvents"]);
    }

    [Fact]
    public async Task Names_follow_the_environment()
    {
        var compiled = await CompiledBicep.GetAsync();
        foreach (string environment in new[] { "dev", "prod" })
        {
            var deployment = compiled.Deploy(environment);
            Assert.All(deployment.OfType("Microsoft.App/containerApps"), a => Assert.StartsWith($"flm-{environment}-", a.Name));
            Assert.StartsWith($"stflm{environment}", ContainerAppsTests.StorageName(deployment));
        }
    }

    [Fact]
    public async Task Names_stay_valid_for_any_environment_name()
    {
        var deployment = (await CompiledBicep.GetAsync()).Deploy("dev", new Dictionary<string, object?> { ["environmentName"] = "QA-eu_2" });
        // The token after the known part is uniqueString(): 13 lowercase letters and digits.
        Assert.Matches(@"^stflmqaeu2⟨uniqueString\(\)⟩$", ContainerAppsTests.StorageName(deployment));
        Assert.Matches(@"^crflmqaeu2⟨uniqueString\(\)⟩$", deployment.Single("Microsoft.ContainerRegistry/registries").Name);
        Assert.All(deployment.OfType("Microsoft.App/containerApps"), a => Assert.Matches("^[a-z][a-z0-9-]{0,30}[a-z0-9]$", a.Name));
        Assert.Equal(["flm-qa-eu-2-env", "flm-qa-eu-2-trainer-env"], deployment.OfType("Microsoft.App/managedEnvironments").Select(e => e.Name).Order());
        Assert.Equal("flm-qa-eu-2-vnet", deployment.Single("Microsoft.Network/virtualNetworks").Name);
        // Key Vault: 3 to 24 letters, digits and hyphens.
        Assert.Matches(@"^kvflmqaeu2⟨uniqueString\(\)⟩$", deployment.Single("Microsoft.KeyVault/vaults").Name);
    }

    private static async Task<Dictionary<string, object?>> Parameters(string file)
    {
        var compiled = await CompiledBicep.GetAsync();
        Assert.True(compiled.BuildParams.ExitCode == 0, compiled.BuildParams.ToString());
        var json = JsonNode.Parse(await File.ReadAllTextAsync(Path.Combine(compiled.ParametersDirectory, file)))!;
        return json["parameters"]!.AsObject().ToDictionary(p => p.Key, p => ArmJson.FromNode(p.Value!["value"]));
    }
}
