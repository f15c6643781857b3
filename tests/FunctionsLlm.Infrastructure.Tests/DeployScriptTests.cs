using System.Diagnostics;

namespace FunctionsLlm.Infrastructure.Tests;

/// <summary>
/// infra/scripts/deploy.sh and azure.yaml's hooks end to end against a recording stand-in for the Azure CLI
/// (Scripts/fake-az; azd's `env set` is logged the same way): which calls they make, in which order, with which of
/// the variables the .bicepparam files read. No subscription is involved.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class DeployScriptTests : IDisposable
{
    private const string AppId = "6f1c2a4e-0000-4000-8000-00000000abcd";
    private readonly TempFolder _root = new("flm-deploy-");
    private string State => Path.Combine(_root, "state");
    private string Log => Path.Combine(_root, "az.log");

    public DeployScriptTests()
    {
        // A copy of the scripts in a repository-shaped folder, with the three app projects the script checks for.
        foreach (string script in new[] { "deploy.sh", "lib/trainer-auth.sh", "azd-preprovision.sh", "azd-postdeploy.sh" })
        {
            string target = Path.Combine(_root, "repo", "infra", "scripts", script);
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(Path.Combine(RepoPaths.Root, "infra", "scripts", script), target);
        }
        foreach (string project in new[] { "Pipeline", "Trainer", "Inference" })
            Directory.CreateDirectory(Path.Combine(_root, "repo", "src", $"FunctionsLlm.{project}"));
        Directory.CreateDirectory(State);
        // az, plus dotnet and zip that only make the files the script expects.
        string bin = Directory.CreateDirectory(Path.Combine(_root, "bin")).FullName;
        File.Copy(Path.Combine(AppContext.BaseDirectory, "Scripts", "fake-az"), Path.Combine(bin, "az"));
        File.WriteAllText(Path.Combine(bin, "dotnet"), "#!/bin/sh\nwhile [ $# -gt 0 ]; do [ \"$1\" = -o ] && mkdir -p \"$2\" && touch \"$2/host.json\"; shift; done\n");
        File.WriteAllText(Path.Combine(bin, "zip"), "#!/bin/sh\ntouch \"$2\"\n");
        File.WriteAllText(Path.Combine(bin, "azd"), "#!/bin/sh\necho \"azd $*\" >> \"$FAKE_AZ_LOG\"\n");
        foreach (string tool in new[] { "az", "dotnet", "zip", "azd" })
            File.SetUnixFileMode(Path.Combine(bin, tool), UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
    }

    public void Dispose() => _root.Dispose();

    [Fact]
    public async Task With_directory_rights_it_creates_the_app_registration_and_deploys_everything_in_one_command()
    {
        var (exit, output) = await DeployAsync("dev");
        Assert.True(exit == 0, output);
        var calls = Calls();

        Assert.Single(calls, c => c.StartsWith("az ad app create --display-name FunctionsLlm trainer (dev, rg-flm-dev)", StringComparison.Ordinal));
        Assert.Contains(calls, c => c.StartsWith($"az ad app update --id {AppId} --identifier-uris api://{AppId}", StringComparison.Ordinal));
        Assert.Contains(calls, c => c.StartsWith($"az ad sp create --id {AppId}", StringComparison.Ordinal));
        // Provision (no blob events yet), images, pipeline code, provision again with the blob events; both with the audience.
        var deployments = calls.Where(c => c.StartsWith("az deployment group create", StringComparison.Ordinal)).ToList();
        Assert.Equal(2, deployments.Count);
        Assert.All(deployments, d => Assert.EndsWith($"audience={AppId} stored=false subscribe={(d == deployments[0] ? "false" : "true")}", d));
        Assert.Equal(2, calls.Count(c => c.StartsWith("az acr build", StringComparison.Ordinal)));
        Assert.Single(calls, c => c.StartsWith("az functionapp deployment source config-zip", StringComparison.Ordinal));
        Assert.True(Index(calls, "az functionapp deployment") < Index(calls, "az deployment group create", last: true));
        Assert.DoesNotContain(calls, c => c.StartsWith("az keyvault", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_second_run_reuses_the_app_registration()
    {
        File.WriteAllText(Path.Combine(State, "app"), AppId);
        File.WriteAllText(Path.Combine(State, "sp"), "");
        var (exit, output) = await DeployAsync("dev", "--infra-only");
        Assert.True(exit == 0, output);
        var calls = Calls();
        Assert.DoesNotContain(calls, c => c.StartsWith("az ad app create", StringComparison.Ordinal) || c.StartsWith("az ad sp create", StringComparison.Ordinal));
        Assert.EndsWith($"audience={AppId} stored=false subscribe=false", Assert.Single(calls, c => c.StartsWith("az deployment group create", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task Without_directory_rights_it_stores_a_random_key_in_key_vault_once_and_deploys_with_it()
    {
        File.WriteAllText(Path.Combine(State, "no-directory-rights"), "");
        var (exit, output) = await DeployAsync("dev");
        Assert.True(exit == 0, output);
        var calls = Calls();
        string key = File.ReadAllText(Path.Combine(State, "secret"));
        Assert.True(Convert.FromBase64String(key).Length == 32, "a 256-bit random key");

        var deployments = calls.Where(c => c.StartsWith("az deployment group create", StringComparison.Ordinal)).ToList();
        Assert.Equal(2, deployments.Count);
        Assert.EndsWith("audience= stored=false subscribe=false", deployments[0]);
        Assert.EndsWith("audience= stored=true subscribe=true", deployments[1]);
        int stored = Index(calls, "az keyvault secret set --vault-name kvflmdevtoken -n trainer-api-key --file ");
        Assert.InRange(stored, Index(calls, "az deployment group create"), Index(calls, "az deployment group create", last: true));
        // Never on a command line, in the output or in a log.
        Assert.DoesNotContain(key, output, StringComparison.Ordinal);
        Assert.DoesNotContain(key, File.ReadAllText(Log), StringComparison.Ordinal);
        Assert.Contains("API key in Key Vault", output, StringComparison.Ordinal);

        // A second run finds the key and keeps it.
        File.Delete(Log);
        (exit, output) = await DeployAsync("dev", "--infra-only");
        Assert.True(exit == 0, output);
        Assert.DoesNotContain(Calls(), c => c.StartsWith("az keyvault secret set", StringComparison.Ordinal));
        Assert.EndsWith("audience= stored=true subscribe=false", Assert.Single(Calls(), c => c.StartsWith("az deployment group create", StringComparison.Ordinal)));
        Assert.Equal(key, File.ReadAllText(Path.Combine(State, "secret")));
    }

    [Fact]
    public async Task What_if_prints_the_plan_and_changes_nothing()
    {
        File.WriteAllText(Path.Combine(State, "group"), "");
        var (exit, output) = await DeployAsync("prod", "--what-if");
        Assert.True(exit == 0, output);
        Assert.Contains("Resource changes: 42 to create.", output, StringComparison.Ordinal);
        Assert.Contains("\"FunctionsLlm trainer (prod, rg-flm-prod)\" would be created", output, StringComparison.Ordinal);
        var calls = Calls();
        Assert.EndsWith("audience=app-registration-created-by-deploy stored=false subscribe=true",
            Assert.Single(calls, c => c.StartsWith("az deployment group what-if -g rg-flm-prod -n flm-prod", StringComparison.Ordinal)));
        string[] changes = ["az deployment group create", "az group create", "az ad app create", "az ad app update", "az ad sp create",
            "az keyvault secret set", "az acr build", "az functionapp"];
        Assert.DoesNotContain(calls, c => changes.Any(change => c.StartsWith(change, StringComparison.Ordinal)));
    }

    [Fact]
    public async Task Azure_yaml_runs_the_hooks_that_wire_the_trainer_credential()
    {
        string yaml = File.ReadAllText(Path.Combine(RepoPaths.Root, "azure.yaml"));
        Assert.Matches(@"preprovision:\s+shell: sh\s+run: infra/scripts/azd-preprovision\.sh", yaml);
        Assert.Matches(@"postdeploy:\s+shell: sh\s+run: infra/scripts/azd-postdeploy\.sh", yaml);
        foreach (string hook in new[] { "azd-preprovision.sh", "azd-postdeploy.sh" })
            Assert.True(File.GetUnixFileMode(Path.Combine(RepoPaths.Root, "infra", "scripts", hook)).HasFlag(UnixFileMode.UserExecute), $"{hook} is not executable");
        var azd = new Dictionary<string, string> { ["AZURE_RESOURCE_GROUP"] = "rg-azd", ["AZURE_ENV_NAME"] = "demo" };

        // With directory rights: the app registration's client id goes into azd's environment.
        var (exit, output) = await RunAsync("azd-preprovision.sh", [], azd);
        Assert.True(exit == 0, output);
        Assert.Contains($"azd env set FLM_TRAINER_AUTH_AUDIENCE {AppId}", Calls());
        Assert.Contains(Calls(), c => c.StartsWith("az ad app create --display-name FunctionsLlm trainer (demo, rg-azd)", StringComparison.Ordinal));
        (exit, output) = await RunAsync("azd-postdeploy.sh", [], new(azd) { ["FLM_TRAINER_AUTH_AUDIENCE"] = AppId, ["FLM_VAULT_NAME"] = "" });
        Assert.True(exit == 0, output);
        Assert.EndsWith($"audience={AppId} stored= subscribe=true", Assert.Single(Calls(), c => c.StartsWith("az deployment group create -g rg-azd", StringComparison.Ordinal)));

        // Without: nothing set before provisioning; after the deploy the key is stored and provisioned with.
        File.Delete(Log);
        Directory.Delete(State, recursive: true);
        Directory.CreateDirectory(State);
        File.WriteAllText(Path.Combine(State, "no-directory-rights"), "");
        (exit, output) = await RunAsync("azd-preprovision.sh", [], azd);
        Assert.True(exit == 0, output);
        Assert.DoesNotContain(Calls(), c => c.StartsWith("azd env set", StringComparison.Ordinal));
        (exit, output) = await RunAsync("azd-postdeploy.sh", [], new(azd) { ["FLM_VAULT_NAME"] = "kvflmdevtoken" });
        Assert.True(exit == 0, output);
        var calls = Calls();
        Assert.Contains("azd env set FLM_TRAINER_API_KEY_STORED true", calls);
        Assert.True(Index(calls, "az keyvault secret set --vault-name kvflmdevtoken") < Index(calls, "az deployment group create"));
        Assert.EndsWith("audience= stored=true subscribe=true", Assert.Single(calls, c => c.StartsWith("az deployment group create", StringComparison.Ordinal)));
    }

    private Task<(int Exit, string Output)> DeployAsync(params string[] arguments) => RunAsync("deploy.sh", arguments, []);

    private async Task<(int Exit, string Output)> RunAsync(string script, string[] arguments, Dictionary<string, string> environment)
    {
        var start = new ProcessStartInfo("bash", [Path.Combine(_root, "repo", "infra", "scripts", script), .. arguments])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        start.Environment["PATH"] = $"{Path.Combine(_root, "bin")}:{Environment.GetEnvironmentVariable("PATH")}";
        start.Environment["FAKE_AZ_STATE"] = State;
        start.Environment["FAKE_AZ_LOG"] = Log;
        foreach (string inherited in new[] { "FLM_TRAINER_AUTH_AUDIENCE", "FLM_TRAINER_API_KEY_STORED", "FLM_VAULT_NAME", "FLM_RESOURCE_GROUP",
            "FLM_OPERATOR_PRINCIPAL_ID", "AZURE_RESOURCE_GROUP", "AZURE_ENV_NAME" })
            start.Environment.Remove(inherited);
        foreach (var (name, value) in environment)
            start.Environment[name] = value;
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromMinutes(2));
        return (process.ExitCode, await stdout + await stderr);
    }

    private List<string> Calls() => File.Exists(Log) ? [.. File.ReadAllLines(Log)] : [];

    private static int Index(List<string> calls, string prefix, bool last = false) =>
        last ? calls.FindLastIndex(c => c.StartsWith(prefix, StringComparison.Ordinal)) : calls.FindIndex(c => c.StartsWith(prefix, StringComparison.Ordinal));
}
