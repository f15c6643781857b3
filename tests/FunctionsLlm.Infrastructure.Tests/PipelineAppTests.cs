using System.Text.RegularExpressions;
using FunctionsLlm.Infrastructure.Tests.Arm;
using FunctionsLlm.Infrastructure.Tests.Bicep;

namespace FunctionsLlm.Infrastructure.Tests;

public sealed class PipelineAppTests
{
    private const string Site = "Microsoft.Web/sites";
    private const string Subscription = "Microsoft.EventGrid/systemTopics/eventSubscriptions";

    [Fact]
    public async Task Pipeline_runs_on_Flex_Consumption_with_identity_based_storage()
    {
        var deployment = (await CompiledBicep.GetAsync()).Deploy("dev");
        var plan = deployment.Single("Microsoft.Web/serverfarms").Evaluated;
        Assert.Equal("FlexConsumption", plan.Text("sku.tier"));
        Assert.Equal("FC1", plan.Text("sku.name"));

        var site = deployment.Single(Site).Evaluated;
        Assert.Equal("true", site.Text("properties.httpsOnly"));
        Assert.Equal("1.2", site.Text("properties.siteConfig.minTlsVersion"));
        var config = site["properties"]!["functionAppConfig"]!;
        Assert.Equal("dotnet-isolated", config.Text("runtime.name"));
        Assert.Equal("10.0", config.Text("runtime.version"));
        Assert.Equal("UserAssignedIdentity", config.Text("deployment.storage.authentication.type"));

        var settings = site["properties"]!["siteConfig"]!["appSettings"].Settings();
        Assert.Equal(ContainerAppsTests.StorageName(deployment), settings["AzureWebJobsStorage__accountName"]);
        Assert.Equal("managedidentity", settings["AzureWebJobsStorage__credential"]);
        Assert.Equal(settings["AZURE_CLIENT_ID"], settings["AzureWebJobsStorage__clientId"]);
        Assert.Contains("id-flm-dev-pipeline", settings["AZURE_CLIENT_ID"], StringComparison.Ordinal);
        Assert.DoesNotContain("AzureWebJobsStorage", settings.Keys); // a connection string: there are no keys to put in one
        Assert.DoesNotContain("FUNCTIONS_WORKER_RUNTIME", settings.Keys); // Flex Consumption rejects it
        Assert.Equal("customer-service", settings["FLM_MODEL_NAME"]);
        Assert.Equal(deployment.Module("trainer").Output("url"), settings["FLM_TRAINER_URL"]);

        foreach (var policy in deployment.OfType($"{Site}/basicPublishingCredentialsPolicies"))
            Assert.Equal("false", policy.Evaluated.Text("properties.allow"));
        Assert.Equal(2, deployment.OfType($"{Site}/basicPublishingCredentialsPolicies").Count);
    }

    [Fact]
    public async Task Blob_created_events_of_training_data_reach_the_blob_trigger_once_subscribed()
    {
        var compiled = await CompiledBicep.GetAsync();
        var first = compiled.Deploy("dev");
        var topic = first.Single("Microsoft.EventGrid/systemTopics").Evaluated;
        Assert.Equal(first.Single("Microsoft.Storage/storageAccounts").Id(), topic.Text("properties.source"));
        Assert.Equal("Microsoft.Storage.StorageAccounts", topic.Text("properties.topicType"));
        // The subscription needs the pipeline code running (endpoint validation, blobs_extension key).
        Assert.Empty(first.OfType(Subscription));

        var subscribed = compiled.Deploy("dev", new Dictionary<string, object?> { ["subscribeBlobEvents"] = true });
        var subscription = subscribed.Single(Subscription).Evaluated;
        Assert.Equal(["Microsoft.Storage.BlobCreated"],
            subscription["properties"]!["filter"]!["includedEventTypes"]!.AsArray().Select(t => t!.ToString()));
        Assert.Equal("/blobServices/default/containers/training-data/blobs/", subscription.Text("properties.filter.subjectBeginsWith"));
        Assert.Equal("WebHook", subscription.Text("properties.destination.endpointType"));
        string pipeline = subscribed.Single(Site).Name;
        Assert.Matches(
            $"^https://{Regex.Escape($"⟨reference Microsoft.Web/sites/{pipeline}.defaultHostName⟩")}/runtime/webhooks/blobs" +
            @"\?functionName=Host\.Functions\.TrainingDataUploaded&code=⟨listKeys\(\)\.systemKeys\.blobs_extension⟩$",
            subscription.Text("properties.destination.properties.endpointUrl"));
    }
}
