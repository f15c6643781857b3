using System.Security.Claims;
using System.Security.Cryptography;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace FunctionsLlm.Trainer.Tests;

/// <summary>
/// An OpenID Connect token issuer on Kestrel at <c>http://127.0.0.1:{free port}</c>, in the role of Entra ID: it
/// publishes <c>/.well-known/openid-configuration</c> (its <see cref="Issuer"/> and <c>jwks_uri</c>) and the JWKS of
/// an RSA key, and mints RS256 access tokens with the claims Entra puts in them (aud, azp/appid, oid, exp).
/// </summary>
public sealed class LocalTokenIssuer : IAsyncDisposable
{
    public const string KeysPath = "/discovery/keys";

    private readonly WebApplication _app;
    private readonly RSA _rsa = RSA.Create(2048);
    private readonly RsaSecurityKey _key;

    private LocalTokenIssuer(WebApplication app)
    {
        _app = app;
        _key = new RsaSecurityKey(_rsa) { KeyId = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8)) };
    }

    /// <summary>The authority and the tokens' issuer, e.g. <c>http://127.0.0.1:40123</c> (no trailing slash, as Entra's).</summary>
    public string Issuer { get; private set; } = "";

    /// <summary>The signing key's id (<c>kid</c>), for forging a token under it with another key.</summary>
    public string KeyId => _key.KeyId!;

    /// <summary>How often the metadata and the keys were fetched.</summary>
    public int MetadataRequests => _metadataRequests;

    private int _metadataRequests;

    public static async Task<LocalTokenIssuer> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseKestrel().UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var issuer = new LocalTokenIssuer(app);
        app.MapGet("/.well-known/openid-configuration", () =>
        {
            Interlocked.Increment(ref issuer._metadataRequests);
            return Results.Json(new Dictionary<string, object>
            {
                ["issuer"] = issuer.Issuer,
                ["jwks_uri"] = issuer.Issuer + KeysPath,
                ["id_token_signing_alg_values_supported"] = new[] { SecurityAlgorithms.RsaSha256 },
            });
        });
        app.MapGet(KeysPath, () => Results.Text(issuer.Jwks(), "application/json"));
        await app.StartAsync();
        issuer.Issuer = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First().TrimEnd('/');
        return issuer;
    }

    /// <summary>
    /// An access token for <paramref name="audience"/> from client <paramref name="caller"/> (as <c>azp</c>, or as v1's
    /// <c>appid</c>), valid until <paramref name="expires"/> (an hour from now by default); signed by this issuer's key
    /// unless <paramref name="signingKey"/> says otherwise.
    /// </summary>
    public string Token(string audience, string caller, DateTimeOffset? expires = null, string? issuer = null, bool v1 = false,
        string? objectId = null, SecurityKey? signingKey = null)
    {
        var until = expires ?? DateTimeOffset.UtcNow.AddHours(1);
        return new JsonWebTokenHandler().CreateToken(new SecurityTokenDescriptor
        {
            Issuer = issuer ?? Issuer,
            Audience = audience,
            IssuedAt = until.AddHours(-2).UtcDateTime,
            NotBefore = until.AddHours(-2).UtcDateTime,
            Expires = until.UtcDateTime,
            Subject = new ClaimsIdentity(
            [
                new Claim(v1 ? "appid" : "azp", caller),
                new Claim("oid", objectId ?? Guid.NewGuid().ToString()),
                new Claim("sub", objectId ?? caller),
            ]),
            SigningCredentials = new SigningCredentials(signingKey ?? _key, SecurityAlgorithms.RsaSha256),
        });
    }

    /// <summary>The public half of the key as a JSON Web Key Set (RFC 7517), as Entra's <c>discovery/keys</c>.</summary>
    private string Jwks()
    {
        Interlocked.Increment(ref _metadataRequests);
        var key = _rsa.ExportParameters(includePrivateParameters: false);
        return JsonSerializer.Serialize(new
        {
            keys = new[]
            {
                new
                {
                    kty = "RSA", use = "sig", alg = SecurityAlgorithms.RsaSha256, kid = _key.KeyId,
                    n = Base64UrlEncoder.Encode(key.Modulus), e = Base64UrlEncoder.Encode(key.Exponent),
                },
            },
        });
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
        _rsa.Dispose();
    }
}
