using FunctionsLlm.Infrastructure.Tests.Arm;
using FunctionsLlm.Infrastructure.Tests.Bicep;

namespace FunctionsLlm.Infrastructure.Tests;

/// <summary>Least privilege: exactly these role assignments, each on the one resource it needs.</summary>
public sealed class AccessTests
{
    private const string BlobDataOwner = "b7e6dc6d-f1e8-4753-8033-0f276bb0955b";
    private const string BlobDataContributor = "ba92f5b4-2d11-453d-a403-e96b0029c9fe";
    private const string BlobDataReader = "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1";
    private const string QueueDataContributor = "974c5e8b-45b9-4653-ba55-5f855dd0fb88";
    private const string TableDataContributor = "0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3";
    private const string AcrPull = "7f951dda-4ed3-4680-a7ca-43fe172d538d";
    private const string MetricsPublisher = "3913510d-42f4-4e42-8a64-420c390055eb";
    private const string SecretsUser = "4633458b-17de-408a-b874-0445c86b69e6";
    private const string SecretsOfficer = "b86a8fe4-44ce-4948-aee5-eccb2c155cd7";

    private sealed record Grant(string Principal, string Role, string Scope)
    {
        public override string ToString() => $"{Principal} {Role} on {Scope}";
    }

    [Theory]
    [InlineData("dev", false)]
    [InlineData("prod", false)]
    [InlineData("dev", true)]
    [InlineData("prod", true)]
    public async Task Each_identity_gets_exactly_its_roles_on_the_resources_it_needs(string environment, bool entra)
    {
        var deployment = (await CompiledBicep.GetAsync()).Deploy(environment,
            new Dictionary<string, object?> { ["trainerAuthAudience"] = entra ? "6f1c2a4e-0000-4000-8000-00000000abcd" : "" });
        string storage = deployment.Single("Microsoft.Storage/storageAccounts").Id();
        string registry = deployment.Single("Microsoft.ContainerRegistry/registries").Id();
        string appInsights = deployment.Single("Microsoft.Insights/components").Id();
        string Container(string name) => $"{storage}/blobServices/default/containers/{name}";

        var expected = new List<Grant>
        {
            new("pipeline", BlobDataOwner, storage),
            new("pipeline", QueueDataContributor, storage),
            new("pipeline", TableDataContributor, storage),
            new("pipeline", MetricsPublisher, appInsights),
            new("trainer", BlobDataContributor, Container("datasets")),
            new("trainer", BlobDataContributor, Container("checkpoints")),
            new("trainer", BlobDataContributor, Container("models")),
            new("trainer", BlobDataContributor, Container("runs")),
            new("trainer", AcrPull, registry),
            new("trainer", MetricsPublisher, appInsights),
            new("inference", BlobDataReader, Container("models")),
            new("inference", BlobDataContributor, Container("azure-webjobs-hosts")),
            new("inference", BlobDataContributor, Container("azure-webjobs-secrets")),
            new("inference", AcrPull, registry),
            new("inference", MetricsPublisher, appInsights),
        };
        if (!entra)
        {
            // API key mode: both sides read trainer-api-key.
            string vault = deployment.Single("Microsoft.KeyVault/vaults").Id();
            expected.Add(new("pipeline", SecretsUser, vault));
            expected.Add(new("trainer", SecretsUser, vault));
        }

        var actual = deployment.OfType("Microsoft.Authorization/roleAssignments").Select(assignment =>
        {
            var evaluated = assignment.Evaluated;
            Assert.Equal("ServicePrincipal", evaluated.Text("properties.principalType"));
            string roleDefinition = evaluated.Text("properties.roleDefinitionId")!;
            Assert.StartsWith("Microsoft.Authorization/roleDefinitions/", roleDefinition);
            // Every assignment names its scope; one without would silently apply to the whole resource group.
            string? scope = evaluated.Text("scope");
            Assert.True(scope is not null, $"{assignment} has no scope");
            return new Grant(Principal(evaluated.Text("properties.principalId")!, environment), roleDefinition.Split('/')[^1], scope);
        }).ToList();

        Assert.Equal(expected.Select(g => g.ToString()).Order(), actual.Select(g => g.ToString()).Order());
    }

    [Fact]
    public async Task The_operator_may_upload_training_data_and_read_results_only()
    {
        const string operatorId = "11111111-2222-3333-4444-555555555555";
        var deployment = (await CompiledBicep.GetAsync()).Deploy("dev", new Dictionary<string, object?> { ["operatorPrincipalId"] = operatorId });
        string storage = deployment.Single("Microsoft.Storage/storageAccounts").Id();
        var grants = deployment.OfType("Microsoft.Authorization/roleAssignments")
            .Select(a => a.Evaluated)
            .Where(a => a.Text("properties.principalId") == operatorId)
            .Select(a => $"{a.Text("properties.principalType")} {a.Text("properties.roleDefinitionId")!.Split('/')[^1]} on {a.Text("scope")}")
            .Order();
        Assert.Equal(new[]
        {
            $"User {BlobDataContributor} on {storage}/blobServices/default/containers/training-data",
            $"User {BlobDataReader} on {storage}/blobServices/default/containers/models",
            $"User {BlobDataReader} on {storage}/blobServices/default/containers/runs",
            // API key mode (the default without an app registration): deploy.sh stores the key.
            $"User {SecretsOfficer} on {deployment.Single("Microsoft.KeyVault/vaults").Id()}",
        }.Order(), grants);
    }

    /// <summary>"⟨reference Microsoft.ManagedIdentity/userAssignedIdentities/id-flm-dev-trainer.principalId⟩" → trainer.</summary>
    private static string Principal(string principalId, string environment)
    {
        const string prefix = "⟨reference Microsoft.ManagedIdentity/userAssignedIdentities/id-flm-";
        Assert.StartsWith(prefix, principalId);
        Assert.EndsWith(".principalId⟩", principalId);
        string identity = principalId[prefix.Length..^".principalId⟩".Length];
        Assert.StartsWith($"{environment}-", identity);
        return identity[(environment.Length + 1)..];
    }
}
