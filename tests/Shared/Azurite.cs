namespace FunctionsLlm.Tests;

/// <summary>The Azurite instance scripts/test.sh starts for this run (FunctionsLlm.IntegrationTests, FunctionsLlm.Trainer.Tests).</summary>
internal static class Azurite
{
    public const string Variable = "FLM_TEST_STORAGE_CONNECTION";

    /// <summary>The trainer tests' own account: trainers on one account claim each other's jobs, and other projects' tests run at the same time.</summary>
    public const string TrainerVariable = "FLM_TEST_TRAINER_STORAGE_CONNECTION";

    public static string ConnectionString => Read(Variable);

    public static string TrainerConnectionString => Read(TrainerVariable);

    private static string Read(string variable) =>
        Environment.GetEnvironmentVariable(variable) is { Length: > 0 } value
            ? value
            : throw new InvalidOperationException(
                $"{variable} is not set: run the tests with ./scripts/test.sh, which starts Azurite and sets it.");
}
