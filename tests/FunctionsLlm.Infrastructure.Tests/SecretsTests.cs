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

    public static TheoryData<string, bool> Modes => new()
    {
        { "", false },                                      // API key mode, before deploy.sh stores the key
        { "", true },                                       // API key mode: the key from Key Vault
        { "6f1c2a4e-0000-4000-8000-00000000abcd", false },  // Entra ID: no key at all
    };

    [Theory]
    [MemberData(nameof(Modes))]
    public async Task App_settings_and_container_env_carry_no_credentials(string trainerAuthAudience, bool trainerApiKeyStored)
    {
        var deployment = (await CompiledBicep.GetAsync()).Deploy("dev", new Dictionary<string, object?>
        {
            ["subscribeBlobEvents"] = true,
            ["trainerAuthAudience"] = trainerAuthAudience,
            ["trainerApiKeyStored"] = trainerApiKeyStored,
        });
        var settings = new List<(string App, string Name, string? Value)>();
        foreach (var site in deployment.OfType("Microsoft.Web/sites"))
            settings.AddRange(site.Evaluated["properties"]!["siteConfig"]!["appSettings"].Settings().Select(s => (site.Name, s.Key, s.Value)));
        foreach (var app in deployment.OfType("Microsoft.App/containerApps"))
        {
            var properties = app.Evaluated["properties"]!;
            // A container app secret may only be a Key Vault reference, never a value.
            foreach (var secret in properties["configuration"]!["secrets"]?.AsArray() ?? [])
            {
                Assert.Null(secret!["value"]);
                Assert.EndsWith("secrets/trainer-api-key", secret.Text("keyVaultUrl") ?? "", StringComparison.Ordinal);
            }
            foreach (var container in properties["template"]!["containers"]!.AsArray())
            {
                foreach (var variable in container!["env"]!.AsArray())
                    settings.Add((app.Name, variable!.Text("name")!, variable.Text("value") ?? $"secretRef:{variable.Text("secretRef")}"));
            }
        }

        Assert.True(settings.Count > 20, $"only {settings.Count} settings found");
        foreach (var (app, name, value) in settings)
        {
            AssertNoCredential($"{app}: {name}", value ?? "");
            // The one connection string is Application Insights', which authenticates nobody while local auth is off.
            if (name == "APPLICATIONINSIGHTS_CONNECTION_STRING")
                continue;
            // The trainer API key, in API key mode, is a reference to Key Vault on both sides.
            if (name == "FLM_TRAINER_API_KEY")
                Assert.Matches(@"^(secretRef:trainer-api-key|@Microsoft\.KeyVault\(SecretUri=.*secrets/trainer-api-key\))$", value);
            else
                Assert.DoesNotMatch(SecretLikeName(), name);
        }
        Assert.Equal(trainerApiKeyStored ? 2 : 0, settings.Count(s => s.Name == "FLM_TRAINER_API_KEY"));
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
