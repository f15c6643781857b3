using System.Text.Json.Nodes;
using FunctionsLlm.Infrastructure.Tests.Arm;
using FunctionsLlm.Infrastructure.Tests.Bicep;
using FunctionsLlm.Trainer;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace FunctionsLlm.Infrastructure.Tests;

public sealed class ContainerAppsTests
{
    private const string ContainerApp = "Microsoft.App/containerApps";

    public static TheoryData<string, string, int, double> Profiles => new()
    {
        // environment, GPU profile type, its vCPUs and GiB per replica
        { "dev", "Consumption-GPU-NC8as-T4", 8, 56 },
        { "prod", "Consumption-GPU-NC24-A100", 24, 220 },
    };

    [Theory]
    [MemberData(nameof(Profiles))]
    public async Task Each_app_runs_on_the_parameterised_GPU_profile_of_its_own_environment(
        string environment, string gpuType, int maxCpu, double maxMemoryGi)
    {
        var deployment = (await CompiledBicep.GetAsync()).Deploy(environment);
        var environments = deployment.OfType("Microsoft.App/managedEnvironments");
        Assert.Equal(2, environments.Count);   // the trainer's (internal) and the inference app's (public)

        foreach (string app in new[] { "trainer", "inference" })
        {
            var properties = App(deployment, app)["properties"]!;
            var own = Assert.Single(environments, e => e.Id() == properties.Text("environmentId"));
            var profiles = own.Evaluated["properties"]!["workloadProfiles"]!.AsArray();
            Assert.Contains(profiles, p => p.Text("workloadProfileType") == "Consumption");
            var gpu = Assert.Single(profiles, p => p.Text("workloadProfileType") == gpuType)!;
            Assert.Equal(gpu.Text("name"), properties.Text("workloadProfileName"));
            var resources = properties["template"]!["containers"]![0]!["resources"]!;
            Assert.InRange(double.Parse(resources.Text("cpu")!), 0.25, maxCpu);
            Assert.InRange(double.Parse(resources.Text("memory")!.Replace("Gi", "", StringComparison.Ordinal)), 0.5, maxMemoryGi);
        }
        Assert.NotEqual(App(deployment, "trainer").Text("properties.environmentId"), App(deployment, "inference").Text("properties.environmentId"));
    }

    [Theory]
    [InlineData("dev")]
    [InlineData("prod")]
    public async Task Trainer_scales_to_zero_on_http_has_health_probes_and_time_to_checkpoint_on_shutdown(string environment)
    {
        var trainer = App((await CompiledBicep.GetAsync()).Deploy(environment), "trainer");
        var properties = trainer["properties"]!;
        var ingress = properties["configuration"]!["ingress"]!;
        Assert.Equal("false", ingress.Text("allowInsecure"));

        var scale = properties["template"]!["scale"]!;
        Assert.Equal("0", scale.Text("minReplicas"));
        // dev: one T4; prod: two A100s, a job each (a replica holds the lease of the job it runs: TrainerReplicaTests).
        Assert.Equal(environment == "dev" ? "1" : "2", scale.Text("maxReplicas"));
        Assert.Single(scale["rules"]!.AsArray(), r => r!["http"] is not null);
        // A replica per unfinished job's marker, counted by KEDA with the trainer's identity, which may read that container.
        var jobs = Assert.Single(scale["rules"]!.AsArray(), r => r!["custom"] is not null)!["custom"]!;
        Assert.Equal("azure-blob", jobs.Text("type"));
        Assert.Equal(("checkpoints", FunctionsLlm.Trainer.Jobs.JobRegistry.ActivePrefix, "1", "0"),
            (jobs["metadata"]!.Text("blobContainerName"), jobs["metadata"]!.Text("blobPrefix"), jobs["metadata"]!.Text("blobCount"),
             jobs["metadata"]!.Text("activationBlobCount")));
        Assert.Equal(trainer["identity"]!["userAssignedIdentities"]!.AsObject().Single().Key, jobs.Text("identity"));

        // dev's T4 trains bases above 3B parameters as QLoRA unless a job sets quantize; prod's A100 never needs to
        var env = properties["template"]!["containers"]![0]!["env"]!.AsArray();
        Assert.Equal(environment == "dev" ? "3000000000" : "0",
            Assert.Single(env, e => e!.Text("name") == "FLM_TRAINER_QUANTIZE_ABOVE_PARAMETERS")!.Text("value"));

        var probes = properties["template"]!["containers"]![0]!["probes"]!.AsArray();
        Assert.Equal(["Liveness", "Readiness", "Startup"], probes.Select(p => p.Text("type")).Order());
        Assert.All(probes, p =>
        {
            Assert.StartsWith("/", p.Text("httpGet.path"));
            Assert.Equal(ingress.Text("targetPort"), p.Text("httpGet.port"));
        });

        // SIGTERM → the host waits ShutdownTimeout for the running job's checkpoint → SIGKILL after the grace period.
        var shutdown = TrainerShutdownTimeout();
        Assert.True(double.Parse(properties["template"].Text("terminationGracePeriodSeconds")!) > shutdown.TotalSeconds,
            $"the grace period must exceed the trainer's ShutdownTimeout ({shutdown.TotalSeconds} s)");
    }

    /// <summary>What the trainer app configures (TrainerStartup.AddTrainer), not a copy of the number.</summary>
    private static TimeSpan TrainerShutdownTimeout()
    {
        var services = new ServiceCollection().AddTrainer(new TrainerSettings { CacheFolder = Path.GetTempPath() });
        using var provider = services.BuildServiceProvider();
        return provider.GetRequiredService<IOptions<HostOptions>>().Value.ShutdownTimeout;
    }

    [Fact]
    public async Task Inference_is_a_function_app_with_the_model_name_and_identity_based_host_storage()
    {
        var deployment = (await CompiledBicep.GetAsync()).Deploy("dev", new Dictionary<string, object?> { ["modelName"] = "faq-bot" });
        var inference = App(deployment, "inference");
        Assert.Equal("functionapp", inference.Text("kind"));
        var env = inference["properties"]!["template"]!["containers"]![0]!["env"].Settings();
        Assert.Equal("faq-bot", env["FLM_MODEL_NAME"]);
        Assert.Equal("dotnet-isolated", env["FUNCTIONS_WORKER_RUNTIME"]);
        Assert.Equal("managedidentity", env["AzureWebJobsStorage__credential"]);
        Assert.Equal(StorageName(deployment), env["AzureWebJobsStorage__accountName"]);
        Assert.Equal(env["AZURE_CLIENT_ID"], env["AzureWebJobsStorage__clientId"]);
        Assert.Contains("inference", env["AZURE_CLIENT_ID"], StringComparison.Ordinal);
        Assert.Equal("true", inference["properties"]!["configuration"]!["ingress"].Text("external"));
    }

    [Fact]
    public async Task Apps_pull_from_the_registry_with_their_own_identity()
    {
        var deployment = (await CompiledBicep.GetAsync()).Deploy("dev", new Dictionary<string, object?>
        {
            ["trainerImage"] = "example.azurecr.io/flm/trainer:abc",
            ["inferenceImage"] = "example.azurecr.io/flm/inference:abc",
        });
        var registry = deployment.Single("Microsoft.ContainerRegistry/registries");
        Assert.Equal("false", registry.Evaluated.Text("properties.adminUserEnabled"));
        foreach (string app in new[] { "trainer", "inference" })
        {
            var resource = App(deployment, app);
            Assert.Equal($"example.azurecr.io/flm/{app}:abc", resource["properties"]!["template"]!["containers"]![0].Text("image"));
            Assert.Equal("UserAssigned", resource.Text("identity.type"));
            string identity = $"Microsoft.ManagedIdentity/userAssignedIdentities/id-flm-dev-{app}";
            Assert.Equal([identity], resource["identity"]!["userAssignedIdentities"]!.AsObject().Select(i => i.Key));
            var pull = Assert.Single(resource["properties"]!["configuration"]!["registries"]!.AsArray())!;
            Assert.Equal(identity, pull.Text("identity"));
            Assert.Contains(registry.Name, pull.Text("server"), StringComparison.Ordinal);
            Assert.Null(pull["passwordSecretRef"]);
        }
    }

    [Fact]
    public async Task Apps_start_from_placeholders_until_images_are_pushed()
    {
        var deployment = (await CompiledBicep.GetAsync()).Deploy("dev");
        foreach (string app in new[] { "trainer", "inference" })
            Assert.StartsWith("mcr.microsoft.com/", App(deployment, app)["properties"]!["template"]!["containers"]![0].Text("image"));
    }

    internal static JsonObject App(ArmDeployment deployment, string app) =>
        deployment.OfType(ContainerApp).Single(a => a.Name.EndsWith($"-{app}", StringComparison.Ordinal)).Evaluated;

    internal static string StorageName(ArmDeployment deployment) =>
        deployment.Single("Microsoft.Storage/storageAccounts").Name;
}
