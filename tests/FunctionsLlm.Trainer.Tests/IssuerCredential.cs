using System.Collections.Concurrent;
using Azure.Core;

namespace FunctionsLlm.Trainer.Tests;

/// <summary>
/// A managed identity as seen from the app: v1 tokens (<c>appid</c>) from <paramref name="issuer"/> for client
/// <paramref name="clientId"/>, whose audience is the requested scope less <c>/.default</c> (as Entra ID derives it), in
/// the name of <paramref name="tokenIssuer"/> (default: the issuer's own).
/// </summary>
internal sealed class IssuerCredential(LocalTokenIssuer issuer, string clientId, string? tokenIssuer = null) : TokenCredential
{
    public ConcurrentQueue<string> RequestedScopes { get; } = new();

    public override AccessToken GetToken(TokenRequestContext requestContext, CancellationToken cancellationToken)
    {
        var scope = Assert.Single(requestContext.Scopes);
        RequestedScopes.Enqueue(scope);
        Assert.EndsWith("/.default", scope, StringComparison.Ordinal);
        var expires = DateTimeOffset.UtcNow.AddHours(1);
        return new AccessToken(issuer.Token(scope[..^"/.default".Length], clientId, expires, tokenIssuer, v1: true), expires);
    }

    public override ValueTask<AccessToken> GetTokenAsync(TokenRequestContext requestContext, CancellationToken cancellationToken) =>
        new(GetToken(requestContext, cancellationToken));
}
