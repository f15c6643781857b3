using System.CommandLine;
using FunctionsLlm.Cli.Commands;

namespace FunctionsLlm.Cli;

/// <summary>
/// The <c>flm</c> command line. Exit codes: 0 success (rejected records are not failures), 1 unreadable input
/// (the reason on stderr), 2 usage error.
/// </summary>
public static class FlmCli
{
    public const int Success = 0;
    public const int UnreadableInput = 1;
    public const int UsageError = 2;

    public static RootCommand CreateRootCommand(TextWriter output, TextWriter error)
    {
        var root = new RootCommand("flm: fine-tune and serve Llama/Qwen models from .NET (FunctionsLlm).");
        root.Subcommands.Add(CleanCommand.Create(output, error));
        root.Subcommands.Add(FormatCommand.Create(output, error));
        root.Subcommands.Add(TokenizeCommand.Create(output, error));
        root.Subcommands.Add(ChatTemplateCommand.Create(output, error));
        root.Subcommands.Add(PipelineCommand.Create(output, error));
        root.Subcommands.Add(LogitsCommand.Create(output, error));
        root.Subcommands.Add(GenerateCommand.Create(output, error));
        root.Subcommands.Add(TrainCommand.Create(output, error));
        root.Subcommands.Add(MergeCommand.Create(output, error));
        root.Subcommands.Add(QuantizeCommand.Create(output, error));
        root.Subcommands.Add(ExportGgufCommand.Create(output, error));
        root.Subcommands.Add(EvalCommand.Create(output, error));
        root.Subcommands.Add(ServeCommand.Create(output, error));
        return root;
    }

    /// <summary>Runs one command; <paramref name="cancellationToken"/> acts like Ctrl+C (long-running commands such as serve stop).</summary>
    public static async Task<int> RunAsync(string[] args, TextWriter output, TextWriter error, CancellationToken cancellationToken = default)
    {
        var parseResult = CreateRootCommand(output, error).Parse(args);
        if (parseResult.Errors.Count > 0)
        {
            foreach (var parseError in parseResult.Errors)
                await error.WriteLineAsync($"flm: {parseError.Message}").ConfigureAwait(false);
            await error.WriteLineAsync("Run 'flm --help' for usage.").ConfigureAwait(false);
            return UsageError;
        }
        var configuration = new InvocationConfiguration { Output = output, Error = error };
        return await parseResult.InvokeAsync(configuration, cancellationToken).ConfigureAwait(false);
    }
}
