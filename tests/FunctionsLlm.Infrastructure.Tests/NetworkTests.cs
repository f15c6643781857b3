using System.Net;
using System.Text.Json.Nodes;
using FunctionsLlm.Infrastructure.Tests.Arm;
using FunctionsLlm.Infrastructure.Tests.Bicep;

namespace FunctionsLlm.Infrastructure.Tests;

/// <summary>
/// The pipeline reaches the trainer, and nothing else does: Flex Consumption VNet integration → private DNS zone of
/// the trainer environment's default domain → the internal environment's static IP. Inference stays public.
/// </summary>
public sealed class NetworkTests
{
    private const string Environment = "Microsoft.App/managedEnvironments";
    private const string Network = "Microsoft.Network/virtualNetworks";

    public static TheoryData<string> Environments => ["dev", "prod"];

    [Theory]
    [MemberData(nameof(Environments))]
    public async Task Pipeline_is_integrated_into_its_delegated_subnet(string environment)
    {
        var deployment = (await CompiledBicep.GetAsync()).Deploy(environment);
        var site = deployment.Single("Microsoft.Web/sites").Evaluated;
        var subnet = Subnet(deployment, site.Text("properties.virtualNetworkSubnetId"));
        Assert.Equal("pipeline", subnet.Text("name"));
        Assert.Equal(["Microsoft.App/environments"], Delegations(subnet));
        Assert.Equal("true", subnet.Text("properties.defaultOutboundAccess"));
    }

    [Theory]
    [MemberData(nameof(Environments))]
    public async Task Trainer_environment_is_internal_in_its_own_subnet_and_inference_environment_is_public(string environment)
    {
        var deployment = (await CompiledBicep.GetAsync()).Deploy(environment);
        var trainerEnvironment = EnvironmentOf(deployment, "trainer");
        var vnet = trainerEnvironment["properties"]!["vnetConfiguration"]!;
        Assert.Equal("true", vnet.Text("internal"));
        var subnet = Subnet(deployment, vnet.Text("infrastructureSubnetId"));
        Assert.Equal("trainer", subnet.Text("name"));
        Assert.Equal(["Microsoft.App/environments"], Delegations(subnet));
        // Workload profiles need /27 or larger; every serverless GPU replica takes an address.
        Assert.InRange(IPNetwork.Parse(subnet.Text("properties.addressPrefix")!).PrefixLength, 16, 27);

        var inferenceEnvironment = EnvironmentOf(deployment, "inference");
        Assert.Null(inferenceEnvironment["properties"]!["vnetConfiguration"]);
        Assert.Equal("true", ContainerAppsTests.App(deployment, "inference").Text("properties.configuration.ingress.external"));
    }

    [Fact]
    public async Task Subnets_lie_in_the_address_space_and_do_not_overlap()
    {
        var deployment = (await CompiledBicep.GetAsync()).Deploy("dev");
        var network = deployment.Single(Network).Evaluated;
        var space = IPNetwork.Parse(network["properties"]!["addressSpace"]!["addressPrefixes"]![0]!.ToString());
        var subnets = network["properties"]!["subnets"]!.AsArray().Select(s => IPNetwork.Parse(s.Text("properties.addressPrefix")!)).ToList();
        Assert.Equal(2, subnets.Count);
        Assert.All(subnets, s => Assert.True(space.Contains(s.BaseAddress) && s.PrefixLength >= space.PrefixLength, $"{s} is outside {space}"));
        Assert.False(subnets[0].Contains(subnets[1].BaseAddress) || subnets[1].Contains(subnets[0].BaseAddress), $"{subnets[0]} overlaps {subnets[1]}");
    }

    [Theory]
    [MemberData(nameof(Environments))]
    public async Task Trainer_url_resolves_to_the_environment_static_ip_inside_the_virtual_network_only(string environment)
    {
        var deployment = (await CompiledBicep.GetAsync()).Deploy(environment);
        var trainerEnvironment = deployment.OfType(Environment).Single(e => e.Name.EndsWith("-trainer-env", StringComparison.Ordinal));
        var dns = deployment.Module("trainerDns");
        // The zone is the environment's default domain; its wildcard and apex point at the environment's static IP.
        var zone = dns.Single("Microsoft.Network/privateDnsZones");
        Assert.Equal(Reference(trainerEnvironment, "defaultDomain"), zone.Name);
        Assert.Equal("global", zone.Evaluated.Text("location"));
        var records = dns.OfType("Microsoft.Network/privateDnsZones/A").ToDictionary(r => r.Name.Split('/')[^1], r => r.Evaluated);
        Assert.Equal(["*", "@"], records.Keys.Order(StringComparer.Ordinal));
        foreach (var record in records.Values)
            Assert.Equal(Reference(trainerEnvironment, "staticIp"), Assert.Single(record["properties"]!["aRecords"]!.AsArray())!.Text("ipv4Address"));
        // Linked to the pipeline's virtual network, registering nothing.
        var link = dns.Single("Microsoft.Network/privateDnsZones/virtualNetworkLinks").Evaluated;
        Assert.Equal(deployment.Single(Network).Id(), link.Text("properties.virtualNetwork.id"));
        Assert.Equal("false", link.Text("properties.registrationEnabled"));

        // The pipeline calls the URL that zone answers for: https://{trainer fqdn}, in {defaultDomain}.
        var settings = deployment.PipelineSettings();
        string trainerUrl = settings["FLM_TRAINER_URL"]!;
        Assert.Equal(deployment.Module("trainer").Output("url"), trainerUrl);
        Assert.StartsWith("https://", trainerUrl, StringComparison.Ordinal);
        Assert.Contains("ingress.fqdn", trainerUrl, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(Environments))]
    public async Task Trainer_has_no_public_endpoint(string environment)
    {
        var deployment = (await CompiledBicep.GetAsync()).Deploy(environment);
        var trainer = ContainerAppsTests.App(deployment, "trainer");
        // "external" ingress of an app in an internal environment: the virtual network, never the internet.
        Assert.Equal("true", EnvironmentOf(deployment, "trainer")["properties"]!["vnetConfiguration"].Text("internal"));
        Assert.Equal("true", trainer.Text("properties.configuration.ingress.external"));
        Assert.Equal("false", trainer.Text("properties.configuration.ingress.allowInsecure"));
        Assert.Empty(deployment.OfType("Microsoft.Network/publicIPAddresses"));
        // Nothing public shares the trainer's environment.
        var beside = deployment.OfType("Microsoft.App/containerApps")
            .Where(a => a.Evaluated.Text("properties.environmentId") == trainer.Text("properties.environmentId"));
        Assert.Equal([trainer.Text("name")], beside.Select(a => a.Name));
        // Only the pipeline's subnet is integrated into the network that can resolve it.
        Assert.Single(deployment.OfType("Microsoft.Web/sites"), s => s.Evaluated.Text("properties.virtualNetworkSubnetId") is not null);
    }

    private static JsonObject EnvironmentOf(ArmDeployment deployment, string app)
    {
        string id = ContainerAppsTests.App(deployment, app).Text("properties.environmentId")!;
        return deployment.OfType(Environment).Single(e => e.Id() == id).Evaluated;
    }

    private static JsonNode Subnet(ArmDeployment deployment, string? id)
    {
        Assert.NotNull(id);
        var network = deployment.Single(Network);
        var subnets = network.Evaluated["properties"]!["subnets"]!.AsArray();
        return Assert.Single(subnets, s => id == $"{network.Id()}/subnets/{s.Text("name")}")!;
    }

    private static string[] Delegations(JsonNode subnet) =>
        [.. subnet["properties"]!["delegations"]!.AsArray().Select(d => d.Text("properties.serviceName")!)];

    /// <summary>How the evaluator renders a runtime property of a resource: ⟨reference TYPE/NAME.PROPERTY⟩.</summary>
    private static string Reference(ArmResource resource, string property) => $"⟨reference {resource.Id()}.{property}⟩";
}
