using Azure.Core;

namespace FunctionsLlm.Orchestration;

/// <summary>
/// Access tokens for one scope (the trainer's <c>{audience}/.default</c>) from a <see cref="TokenCredential"/>, cached:
/// a token is used until <see cref="RefreshMargin"/> before it expires, or until its <see cref="AccessToken.RefreshOn"/>
/// when the credential sets one, whichever comes first; callers that find it stale at the same time share one fetch.
/// Keep one per scope for the app's lifetime: HttpClientFactory rebuilds its handlers every few minutes, the cache must
/// outlive them. The token itself is never logged nor put into an exception message.
/// </summary>
public sealed class AccessTokenSource(TokenCredential credential, string scope, TimeProvider? time = null)
{
    public static readonly TimeSpan RefreshMargin = TimeSpan.FromMinutes(5);

    private readonly TimeProvider _time = time ?? TimeProvider.System;
    private readonly SemaphoreSlim _fetch = new(1, 1);
    private volatile CachedToken? _cached;

    public string Scope => scope;

    public async ValueTask<string> GetTokenAsync(CancellationToken cancellationToken = default)
    {
        if (Fresh() is { } token)
            return token;
        await _fetch.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (Fresh() is { } fetchedMeanwhile)
                return fetchedMeanwhile;
            var access = await credential.GetTokenAsync(new TokenRequestContext([scope]), cancellationToken).ConfigureAwait(false);
            var renewAt = access.ExpiresOn - RefreshMargin;
            if (access.RefreshOn is { } refreshOn && refreshOn < renewAt)
                renewAt = refreshOn;
            _cached = new CachedToken(access.Token, renewAt);
            return access.Token;
        }
        finally
        {
            _fetch.Release();
        }
    }

    private string? Fresh() => _cached is { } cached && _time.GetUtcNow() < cached.RenewAt ? cached.Value : null;

    // A class, not a record: a record's ToString would print the token.
    private sealed class CachedToken(string value, DateTimeOffset renewAt)
    {
        public string Value { get; } = value;

        public DateTimeOffset RenewAt { get; } = renewAt;
    }
}
