using System.Text.Json;
using System.Text.Json.Nodes;
using FunctionsLlm.Core.Contracts;

namespace FunctionsLlm.Cli.Pipeline;

/// <summary>
/// The run options <c>flm pipeline</c> uploads beside the data: the user's sidecar (<c>INPUT.pipeline.json</c>, the
/// same document the Blob pipeline reads) with the command line's overrides applied.
/// </summary>
internal static class RunOptionsSidecar
{
    /// <summary>
    /// The sidecar's JSON: <paramref name="userJson"/> (or an empty document) with its model name set to
    /// <paramref name="modelName"/> when it names none (always, when <paramref name="nameGiven"/>), and its candidates
    /// replaced by a learning-rate sweep of <paramref name="candidates"/> when given.
    /// </summary>
    public static string Compose(string? userJson, string origin, int? candidates, string modelName, bool nameGiven = false)
    {
        JsonObject document;
        try
        {
            document = userJson is null ? [] : JsonNode.Parse(userJson) as JsonObject
                ?? throw new InvalidDataException($"{origin} must hold a JSON object");
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{origin} is not valid JSON: {e.Message}", e);
        }
        if (nameGiven || document["modelName"] is null)
            document["modelName"] = modelName;
        if (candidates is { } n)
        {
            var baseRate = document["hyperparameters"]?["lr"]?.GetValue<double>() ?? new Hyperparameters().LearningRate;
            document.Remove("candidates");
            var sweep = document["sweep"] as JsonObject ?? [];
            sweep["lr"] = new JsonArray([.. LearningRates(baseRate, n).Select(lr => JsonValue.Create(lr))]);
            document["sweep"] = sweep;
        }
        return document.ToJsonString(new JsonSerializerOptions { WriteIndented = true });
    }

    /// <summary>
    /// <paramref name="count"/> learning rates around <paramref name="baseRate"/>: itself first, then half, double, a
    /// quarter, four times… (a factor-of-two ladder, the usual first sweep).
    /// </summary>
    public static IReadOnlyList<double> LearningRates(double baseRate, int count)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(count, 1);
        var rates = new List<double>(count) { baseRate };
        for (int k = 1; rates.Count < count; k++)
        {
            rates.Add(baseRate / Math.Pow(2, k));
            if (rates.Count < count)
                rates.Add(baseRate * Math.Pow(2, k));
        }
        return rates;
    }
}
