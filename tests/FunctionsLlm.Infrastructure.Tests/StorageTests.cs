using FunctionsLlm.Infrastructure.Tests.Arm;
using FunctionsLlm.Infrastructure.Tests.Bicep;

namespace FunctionsLlm.Infrastructure.Tests;

public sealed class StorageTests
{
    private const string Account = "Microsoft.Storage/storageAccounts";

    [Theory]
    [InlineData("dev")]
    [InlineData("prod")]
    public async Task Account_allows_Entra_ID_only_over_TLS_1_2(string environment)
    {
        var account = (await CompiledBicep.GetAsync()).Deploy(environment).Single(Account).Evaluated;
        Assert.Equal("false", account.Text("properties.allowSharedKeyAccess"));
        Assert.Equal("false", account.Text("properties.allowBlobPublicAccess"));
        Assert.Equal("TLS1_2", account.Text("properties.minimumTlsVersion"));
        Assert.Equal("true", account.Text("properties.supportsHttpsTrafficOnly"));
        Assert.Equal("true", account.Text("properties.defaultToOAuthAuthentication"));
    }

    [Fact]
    public async Task Containers_of_the_design_exist_and_none_is_public()
    {
        var containers = (await CompiledBicep.GetAsync()).Deploy("dev").OfType($"{Account}/blobServices/containers");
        var names = containers.Select(c => c.Name.Split('/')[^1]).ToList();
        foreach (string name in new[] { "training-data", "datasets", "checkpoints", "models", "runs" })
            Assert.Contains(name, names);
        Assert.All(containers, c => Assert.Equal("None", c.Evaluated.Text("properties.publicAccess")));
    }

    [Theory]
    [InlineData("dev", 7)]
    [InlineData("prod", 30)]
    public async Task Versioning_and_soft_delete_protect_training_data_and_models(string environment, int days)
    {
        var deployment = (await CompiledBicep.GetAsync()).Deploy(environment);
        var blob = deployment.Single($"{Account}/blobServices").Evaluated;
        Assert.Equal("true", blob.Text("properties.isVersioningEnabled"));
        Assert.Equal("true", blob.Text("properties.deleteRetentionPolicy.enabled"));
        Assert.Equal(days.ToString(), blob.Text("properties.deleteRetentionPolicy.days"));
        Assert.Equal("true", blob.Text("properties.containerDeleteRetentionPolicy.enabled"));

        // Versions are an account-wide setting: the lifecycle policy keeps them for the retention period in the
        // protected containers and drops them after a day everywhere else.
        var rules = deployment.Single($"{Account}/managementPolicies").Evaluated["properties"]!["policy"]!["rules"]!.AsArray();
        var keep = rules.Single(r => r!["definition"]!.Text("filters.prefixMatch")!.Contains("models/", StringComparison.Ordinal))!;
        Assert.Equal(["training-data/", "models/"], keep["definition"]!["filters"]!["prefixMatch"]!.AsArray().Select(p => p!.ToString()));
        Assert.Equal(days.ToString(), keep["definition"].Text("actions.version.delete.daysAfterCreationGreaterThan"));
        var drop = rules.Single(r => r != keep)!;
        var dropped = drop["definition"]!["filters"]!["prefixMatch"]!.AsArray().Select(p => p!.ToString()).ToList();
        Assert.Contains("checkpoints/", dropped);
        Assert.DoesNotContain("training-data/", dropped);
        Assert.DoesNotContain("models/", dropped);
    }
}
