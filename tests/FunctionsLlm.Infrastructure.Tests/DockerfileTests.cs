using System.Text.RegularExpressions;

namespace FunctionsLlm.Infrastructure.Tests;

/// <summary>The images cannot be built here (no container engine); their Dockerfiles must still match the repository.</summary>
public sealed partial class DockerfileTests
{
    [Theory]
    [InlineData("trainer.Dockerfile", "src/FunctionsLlm.Trainer/FunctionsLlm.Trainer.csproj")]
    [InlineData("inference.Dockerfile", "src/FunctionsLlm.Inference/FunctionsLlm.Inference.csproj")]
    public void Each_image_publishes_a_project_of_the_solution_with_the_cuda_switch(string dockerfile, string project)
    {
        string text = File.ReadAllText(Path.Combine(RepoPaths.Root, "infra", "docker", dockerfile));
        var published = PublishedProjects().Matches(text).Select(m => m.Groups[1].Value).ToArray();

        Assert.Equal([project], published);
        Assert.True(File.Exists(Path.Combine(RepoPaths.Root, project)), $"{dockerfile} publishes {project}, which does not exist");
        Assert.Contains(project.Replace('/', '\\'), File.ReadAllText(Path.Combine(RepoPaths.Root, "FunctionsLlm.sln")));
        Assert.Contains("-p:TorchBackend=cuda", text);
        foreach (Match copy in LocalCopies().Matches(text))
            Assert.True(Path.Exists(Path.Combine(RepoPaths.Root, copy.Groups[1].Value)), $"{dockerfile} copies {copy.Groups[1].Value}, which does not exist");
    }

    [Fact]
    public void The_trainer_runs_as_a_non_root_user_on_the_port_bicep_probes_and_has_a_health_check()
    {
        string text = File.ReadAllText(Path.Combine(RepoPaths.Root, "infra", "docker", "trainer.Dockerfile"));
        string final = text[text.LastIndexOf("\nFROM ", StringComparison.Ordinal)..];

        Assert.Matches(@"\nUSER flm\n", final);
        Assert.Contains("ASPNETCORE_HTTP_PORTS=8080", final);
        Assert.Matches(@"\nHEALTHCHECK .*CMD \[""\./FunctionsLlm\.Trainer"", ""--probe""\]", final);
        Assert.Contains("if (args is [\"--probe\", ..])", File.ReadAllText(Path.Combine(RepoPaths.Root, "src", "FunctionsLlm.Trainer", "Program.cs")));
    }

    [GeneratedRegex(@"dotnet publish (\S+\.csproj)")]
    private static partial Regex PublishedProjects();

    // COPY from the build context (not --from=stage), other than the whole context.
    [GeneratedRegex(@"^COPY (?!--from)(?!\. )(\S+) ", RegexOptions.Multiline)]
    private static partial Regex LocalCopies();
}
