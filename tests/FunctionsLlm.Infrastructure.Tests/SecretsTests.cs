using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using FunctionsLlm.Infrastructure.Tests.Arm;
using FunctionsLlm.Infrastructure.Tests.Bicep;

namespace FunctionsLlm.Infrastructure.Tests;

/// <summary>No key, password or connection string with a credential in outputs, app settings or container env.</summary>
public sealed partial class SecretsTests
{
    [GeneratedRegex(@"\blist[A-Za-z]*\(", RegexOptions.IgnoreCase)]
    private static partial Regex ListFunction();

    [GeneratedRegex(@"(key|secret|password|token|sas|connectionstring)", RegexOptions.IgnoreCase)]
    private static partial Regex SecretLikeName();

    private static readonly string[] CredentialMarkers =
        ["AccountKey=", "SharedAccessSignature", "sig=", "listKeys", "listSecrets", "Password="];

    [Fact]
    public async Task Outputs_hold_names_and_endpoints_only()
    {
        var compiled = await CompiledBicep.GetAsync();
        var deployment = compiled.Deploy("dev");
        Assert.NotEmpty(deployment.OutputNames);
        foreach (string name in deployment.OutputNames)
        {
            Assert.DoesNotMatch(SecretLikeName(), name);
            var output = compiled.MainTemplate["outputs"]![name]!;
            Assert.Equal("string", output.Text("type"));
            AssertNoCredential($"output {name}", ArmFunctions.Text(deployment.Output(name)));
        }
    }

    [Fact]
    public async Task App_settings_and_container_env_carry_no_credentials()
    {
        var deployment = (await CompiledBicep.GetAsync()).Deploy("dev", new Dictionary<string, object?> { ["subscribeBlobEvents"] = true });
        var settings = new List<(string App, string Name, string? Value)>();
        foreach (var site in deployment.OfType("Microsoft.Web/sites"))
            settings.AddRange(site.Evaluated["properties"]!["siteConfig"]!["appSettings"].Settings().Select(s => (site.Name, s.Key, s.Value)));
        foreach (var app in deployment.OfType("Microsoft.App/containerApps"))
        {
            var properties = app.Evaluated["properties"]!;
            Assert.Null(properties["configuration"]!["secrets"]);
            foreach (var container in properties["template"]!["containers"]!.AsArray())
            {
                foreach (var variable in container!["env"]!.AsArray())
                {
                    Assert.Null(variable!["secretRef"]);
                    settings.Add((app.Name, variable.Text("name")!, variable.Text("value")));
                }
            }
        }

        Assert.True(settings.Count > 20, $"only {settings.Count} settings found");
        foreach (var (app, name, value) in settings)
        {
            AssertNoCredential($"{app}: {name}", value ?? "");
            // The one connection string is Application Insights', which authenticates nobody while local auth is off.
            if (name != "APPLICATIONINSIGHTS_CONNECTION_STRING")
                Assert.DoesNotMatch(SecretLikeName(), name);
        }
        Assert.Equal("true", deployment.Single("Microsoft.Insights/components").Evaluated.Text("properties.DisableLocalAuth"));
    }

    [Fact]
    public async Task Only_the_event_subscription_reads_a_key_and_it_never_leaves_that_resource()
    {
        var template = (await CompiledBicep.GetAsync()).MainTemplate;
        var readers = new List<string>();
        Walk(template, type: null, readers);
        Assert.Equal(["Microsoft.EventGrid/systemTopics/eventSubscriptions"], readers.Distinct());
    }

    private static void Walk(JsonNode? node, string? type, List<string> readers)
    {
        switch (node)
        {
            case JsonObject obj:
                string? own = obj["type"] is JsonValue t && obj["apiVersion"] is not null ? t.ToString() : type;
                foreach (var (key, value) in obj)
                {
                    if (ListFunction().IsMatch(key))
                        readers.Add(own ?? "(template)");
                    Walk(value, own, readers);
                }
                break;
            case JsonArray list:
                foreach (var item in list)
                    Walk(item, type, readers);
                break;
            case JsonValue value when value.GetValueKind() == System.Text.Json.JsonValueKind.String:
                if (ListFunction().IsMatch(value.ToString()))
                    readers.Add(type ?? "(template)");
                break;
        }
    }

    private static void AssertNoCredential(string where, string value)
    {
        foreach (string marker in CredentialMarkers)
            Assert.False(value.Contains(marker, StringComparison.OrdinalIgnoreCase), $"{where} = {value}");
    }
}
