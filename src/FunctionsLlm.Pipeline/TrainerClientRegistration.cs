using Azure.Core;
using FunctionsLlm.Core;
using FunctionsLlm.Orchestration;
using Microsoft.Extensions.DependencyInjection;

namespace FunctionsLlm.Pipeline;

public static class TrainerClientRegistration
{
    /// <summary>
    /// <see cref="TrainerClient"/> for <c>FLM_TRAINER_URL</c>, authenticated as the settings say: an access token for
    /// <see cref="PipelineSettings.TrainerTokenScope"/> from <paramref name="credential"/> (default: the app's managed
    /// identity, <c>AZURE_CLIENT_ID</c>), the API key, or nothing.
    /// </summary>
    public static IHttpClientBuilder AddTrainerClient(this IServiceCollection services, PipelineSettings settings, TokenCredential? credential = null)
    {
        ArgumentNullException.ThrowIfNull(settings);
        var client = services.AddHttpClient<TrainerClient>(http => TrainerClient.Configure(http, settings.TrainerUrl, settings.TrainerApiKey));
        if (settings.TrainerTokenScope is { } scope)
        {
            // AZURE_CLIENT_ID is read with the storage settings; one identity serves both.
            var tokens = new AccessTokenSource(credential ?? AppIdentity.Credential(settings.Storage.ClientId), scope);
            client.AddHttpMessageHandler(() => new BearerTokenHandler(tokens));
        }
        return client;
    }
}
