using FunctionsLlm.Data.Formatting;
using FunctionsLlm.Data.Reading;
using FunctionsLlm.Data.Templating;
using FunctionsLlm.Data.Tokenization;
using FunctionsLlm.Modeling.Checkpoints;
using FunctionsLlm.Modeling.Config;
using FunctionsLlm.Modeling.Gguf;
using FunctionsLlm.Modeling.Lora;
using FunctionsLlm.Training.Data;
using FunctionsLlm.Training.Evaluation;

namespace FunctionsLlm.Cli.Commands;

/// <summary>A usage mistake found after parsing (a malformed option value): exit code 2.</summary>
internal sealed class UsageException(string message) : Exception(message)
{
    /// <summary>Runs an options object's validation: the ArgumentException it throws is a usage error.</summary>
    public static void Check(Action validate)
    {
        try
        {
            validate();
        }
        catch (ArgumentException e)
        {
            throw new UsageException(e.Message);
        }
    }
}

/// <summary>Maps errors to exit codes with one clear line on stderr: input problems → 1, usage → 2.</summary>
internal static class CommandFailure
{
    public static int Run(TextWriter error, Func<int> action) =>
        RunAsync(error, () => Task.FromResult(action())).GetAwaiter().GetResult();

    public static async Task<int> RunAsync(TextWriter error, Func<Task<int>> action)
    {
        try
        {
            return await action();
        }
        catch (UsageException e)
        {
            error.WriteLine($"flm: {e.Message}");
            return FlmCli.UsageError;
        }
        catch (Exception e) when (IsInputError(e))
        {
            error.WriteLine($"flm: {e.Message}");
            return FlmCli.UnreadableInput;
        }
    }

    private static bool IsInputError(Exception e) => e is UnreadableInputException or TokenizerLoadException or TemplateException
        or TokenizerAltersTextException or ModelConfigException or CheckpointException or LoraException or IOException or UnauthorizedAccessException or InvalidDataException or System.Text.Json.JsonException
        or TrainingDataException or EvaluationException or GgufExportException;
}
