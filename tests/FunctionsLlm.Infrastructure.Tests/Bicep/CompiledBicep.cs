using System.Text.Json.Nodes;
using FunctionsLlm.Infrastructure.Tests.Arm;
using FunctionsLlm.Tests;

namespace FunctionsLlm.Infrastructure.Tests.Bicep;

/// <summary>
/// bicep/ compiled once per test run: `bicep lint`, `bicep build` and `bicep build-params` over every file,
/// run side by side (about 6 s), and main.bicep's ARM JSON deployed (on paper) with each .bicepparam file.
/// </summary>
internal sealed class CompiledBicep
{
    private static readonly Lazy<Task<CompiledBicep>> Instance = new(CompileAsync);

    private CompiledBicep(string outputDirectory, BicepResult lint, BicepResult build, BicepResult buildParams)
    {
        OutputDirectory = outputDirectory;
        Lint = lint;
        Build = build;
        BuildParams = buildParams;
    }

    public static string BicepDirectory => Path.Combine(RepoPaths.Root, "bicep");

    public static Task<CompiledBicep> GetAsync() => Instance.Value;

    public BicepResult Lint { get; }

    public BicepResult Build { get; }

    public BicepResult BuildParams { get; }

    public string OutputDirectory { get; }

    public string TemplatesDirectory => Path.Combine(OutputDirectory, "templates");

    public string ParametersDirectory => Path.Combine(OutputDirectory, "parameters");

    public JsonObject MainTemplate => ReadJson(Path.Combine(TemplatesDirectory, "main.json"), Build);

    /// <summary>main.bicep as deployed with bicep/env/{environment}.bicepparam, with optional overrides.</summary>
    public ArmDeployment Deploy(string environment, IReadOnlyDictionary<string, object?>? overrides = null) =>
        ArmDeployment.Root(MainTemplate, ReadJson(Path.Combine(ParametersDirectory, "env", $"{environment}.json"), BuildParams), overrides);

    public static IReadOnlyList<string> SourceFiles(string extension) =>
        Directory.EnumerateFiles(BicepDirectory, $"*{extension}", SearchOption.AllDirectories)
            .Select(f => Path.GetRelativePath(BicepDirectory, f))
            .Order(StringComparer.Ordinal)
            .ToList();

    /// <summary>Reads what a bicep command wrote; if it failed, says why instead of "file not found".</summary>
    private static JsonObject ReadJson(string path, BicepResult producer)
    {
        if (producer.ExitCode != 0 || !File.Exists(path))
            throw new InvalidOperationException($"{Path.GetFileName(path)} was not compiled: {producer}");
        return JsonNode.Parse(File.ReadAllText(path))!.AsObject();
    }

    private static async Task<CompiledBicep> CompileAsync()
    {
        string output = Path.Combine(Path.GetTempPath(), $"flm-bicep-{Environment.ProcessId}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(output);
        string bicep = BicepDirectory;
        Task<BicepResult> lint = BicepCli.RunAsync(bicep, "lint", "--pattern", "**/*.bicep*");
        Task<BicepResult> build = BicepCli.RunAsync(bicep, "build", "--pattern", "**/*.bicep",
            "--outdir", Path.Combine(output, "templates"));
        Task<BicepResult> buildParams = BicepCli.RunAsync(bicep, "build-params", "--pattern", "**/*.bicepparam",
            "--outdir", Path.Combine(output, "parameters"));
        await Task.WhenAll(lint, build, buildParams);
        AppDomain.CurrentDomain.ProcessExit += (_, _) =>
        {
            try
            {
                Directory.Delete(output, recursive: true);
            }
            catch (IOException)
            {
            }
        };
        return new CompiledBicep(output, await lint, await build, await buildParams);
    }
}
