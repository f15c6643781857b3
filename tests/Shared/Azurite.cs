namespace FunctionsLlm.Tests;

/// <summary>The Azurite instance scripts/test.sh starts for this run (FunctionsLlm.IntegrationTests, FunctionsLlm.Trainer.Tests).</summary>
internal static class Azurite
{
    public const string Variable = "FLM_TEST_STORAGE_CONNECTION";

    public static string ConnectionString =>
        Environment.GetEnvironmentVariable(Variable) is { Length: > 0 } value
            ? value
            : throw new InvalidOperationException(
                $"{Variable} is not set: run the tests with ./scripts/test.sh, which starts Azurite and sets it.");
}
