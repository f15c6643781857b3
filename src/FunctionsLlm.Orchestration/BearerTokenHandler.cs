using System.Net.Http.Headers;

namespace FunctionsLlm.Orchestration;

/// <summary>Sends <c>Authorization: Bearer {access token}</c> from an <see cref="AccessTokenSource"/> with every request.</summary>
public sealed class BearerTokenHandler(AccessTokenSource tokens) : DelegatingHandler
{
    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        string token;
        try
        {
            token = await tokens.GetTokenAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // As a failed call (TrainerClient retries those): the identity endpoint may be briefly unavailable.
            throw new HttpRequestException($"no access token for '{tokens.Scope}': {e.Message}", e);
        }
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return await base.SendAsync(request, cancellationToken).ConfigureAwait(false);
    }
}
