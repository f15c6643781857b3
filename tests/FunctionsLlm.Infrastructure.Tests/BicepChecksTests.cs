using System.Text.RegularExpressions;
using FunctionsLlm.Infrastructure.Tests.Bicep;

namespace FunctionsLlm.Infrastructure.Tests;

/// <summary>`bicep lint` and `bicep build` over every file under bicep/: no error, no warning, no info.</summary>
public sealed class BicepChecksTests
{
    [Fact]
    public async Task Lint_reports_nothing_for_any_bicep_or_bicepparam_file()
    {
        var compiled = await CompiledBicep.GetAsync();
        Assert.True(compiled.Lint.ExitCode == 0, compiled.Lint.ToString());
        Assert.Empty(compiled.Lint.Diagnostics);
    }

    [Fact]
    public async Task Build_compiles_every_bicep_file_without_diagnostics()
    {
        var compiled = await CompiledBicep.GetAsync();
        Assert.True(compiled.Build.ExitCode == 0, compiled.Build.ToString());
        Assert.Empty(compiled.Build.Diagnostics);
        var sources = CompiledBicep.SourceFiles(".bicep");
        Assert.Contains(Path.Combine("modules", "storage.bicep"), sources);
        foreach (string source in sources)
            Assert.True(File.Exists(Path.Combine(compiled.TemplatesDirectory, Path.ChangeExtension(source, ".json"))), source);
    }

    [Fact]
    public async Task Build_params_compiles_every_bicepparam_file_without_diagnostics()
    {
        var compiled = await CompiledBicep.GetAsync();
        Assert.True(compiled.BuildParams.ExitCode == 0, compiled.BuildParams.ToString());
        Assert.Empty(compiled.BuildParams.Diagnostics);
        var sources = CompiledBicep.SourceFiles(".bicepparam");
        Assert.Equal(["env/dev.bicepparam", "env/prod.bicepparam", "main.bicepparam"],
            sources.Select(s => s.Replace('\\', '/')));
        foreach (string source in sources)
            Assert.True(File.Exists(Path.Combine(compiled.ParametersDirectory, Path.ChangeExtension(source, ".json"))), source);
    }

    [Fact]
    public void Only_local_modules_are_used()
    {
        var module = new Regex(@"^\s*module\s+\w+\s+'(?<path>[^']+)'", RegexOptions.Multiline);
        int modules = 0;
        foreach (string source in CompiledBicep.SourceFiles(".bicep"))
        {
            string directory = Path.GetDirectoryName(Path.Combine(CompiledBicep.BicepDirectory, source))!;
            foreach (Match match in module.Matches(File.ReadAllText(Path.Combine(CompiledBicep.BicepDirectory, source))))
            {
                string path = match.Groups["path"].Value;
                Assert.DoesNotContain(":", path, StringComparison.Ordinal); // br:, br/public:, ts: registries
                Assert.True(File.Exists(Path.Combine(directory, path)), $"{source}: module '{path}' is not a local file");
                modules++;
            }
        }
        Assert.True(modules >= 10, $"only {modules} module declarations found");
    }
}
