using FunctionsLlm.Infrastructure.Tests.Arm;
using FunctionsLlm.Infrastructure.Tests.Bicep;

namespace FunctionsLlm.Infrastructure.Tests;

public sealed class DiagnosticsTests
{
    [Theory]
    [InlineData("Microsoft.Storage/storageAccounts")]
    [InlineData("Microsoft.Storage/storageAccounts/blobServices")]
    [InlineData("Microsoft.Storage/storageAccounts/queueServices")]
    [InlineData("Microsoft.Storage/storageAccounts/tableServices")]
    [InlineData("Microsoft.Web/sites")]
    [InlineData("Microsoft.ContainerRegistry/registries")]
    [InlineData("Microsoft.App/managedEnvironments")]
    [InlineData("Microsoft.EventGrid/systemTopics")]
    [InlineData("Microsoft.KeyVault/vaults")]
    public async Task Main_resources_send_diagnostics_to_the_workspace(string type)
    {
        var deployment = (await CompiledBicep.GetAsync()).Deploy("dev");
        string workspace = deployment.Single("Microsoft.OperationalInsights/workspaces").Id();
        var targets = deployment.OfType(type);
        Assert.NotEmpty(targets);
        foreach (var target in targets)
            AssertSendsToWorkspace(deployment, target.Id(), workspace);
    }

    private static void AssertSendsToWorkspace(ArmDeployment deployment, string target, string workspace)
    {
        var setting = Assert.Single(deployment.OfType("Microsoft.Insights/diagnosticSettings"),
            s => s.Evaluated.Text("scope") == target).Evaluated;
        Assert.Equal(workspace, setting.Text("properties.workspaceId"));
        var logs = setting["properties"]!["logs"]?.AsArray() ?? [];
        var metrics = setting["properties"]!["metrics"]?.AsArray() ?? [];
        Assert.NotEmpty(logs.Concat(metrics));
        Assert.All(logs.Concat(metrics), l => Assert.Equal("true", l.Text("enabled")));
    }

    [Fact]
    public async Task Application_Insights_is_workspace_based()
    {
        var deployment = (await CompiledBicep.GetAsync()).Deploy("dev");
        Assert.Equal(deployment.Single("Microsoft.OperationalInsights/workspaces").Id(),
            deployment.Single("Microsoft.Insights/components").Evaluated.Text("properties.WorkspaceResourceId"));
    }
}
