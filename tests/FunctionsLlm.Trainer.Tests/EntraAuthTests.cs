using System.Net;
using System.Security.Claims;
using FunctionsLlm.Trainer.Api;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Protocols;
using Microsoft.IdentityModel.Protocols.OpenIdConnect;
using Microsoft.IdentityModel.Tokens;

namespace FunctionsLlm.Trainer.Tests;

/// <summary>
/// Entra ID bearer tokens: the app's JwtBearer set-up (issuer of the tenant, audience, lifetime, allowed callers) with
/// the tenant's signing keys replaced by a test key, so no token service is needed.
/// </summary>
public sealed class EntraAuthTests : IDisposable
{
    private const string Tenant = "11111111-2222-3333-4444-555555555555";
    private const string Audience = "api://flm-trainer";
    private const string Pipeline = "aaaaaaaa-0000-0000-0000-000000000001";
    private static readonly SymmetricSecurityKey Key = new(Enumerable.Range(1, 32).Select(i => (byte)i).ToArray()) { KeyId = "test" };

    private readonly string _root = Directory.CreateTempSubdirectory("flm-trainer-entra-").FullName;
    private readonly TrainerApp _app;

    public EntraAuthTests()
    {
        var settings = TrainerApp.Local(_root, run: false);
        settings["FLM_TRAINER_AUTH_TENANT_ID"] = Tenant;
        settings["FLM_TRAINER_AUTH_AUDIENCE"] = Audience;
        settings["FLM_TRAINER_AUTH_ALLOWED_CALLERS"] = $"{Pipeline}, bbbbbbbb-0000-0000-0000-000000000002";
        _app = new TrainerApp(settings, services => services.PostConfigure<JwtBearerOptions>(JwtBearerDefaults.AuthenticationScheme, options =>
        {
            // What the tenant's OpenID metadata would give: its keys (here the test key).
            var configuration = new OpenIdConnectConfiguration { Issuer = $"https://login.microsoftonline.com/{Tenant}/v2.0" };
            configuration.SigningKeys.Add(Key);
            options.Configuration = configuration;
            options.ConfigurationManager = new StaticConfigurationManager<OpenIdConnectConfiguration>(configuration);
        }));
    }

    public void Dispose()
    {
        _app.Dispose();
        Directory.Delete(_root, recursive: true);
    }

    private static string Token(string issuer = $"https://login.microsoftonline.com/{Tenant}/v2.0", string audience = Audience,
        string caller = Pipeline, DateTime? expires = null, SecurityKey? key = null)
    {
        var now = DateTime.UtcNow;
        return new JsonWebTokenHandler().CreateToken(new SecurityTokenDescriptor
        {
            Issuer = issuer,
            Audience = audience,
            NotBefore = (expires ?? now.AddHours(1)).AddHours(-2),
            IssuedAt = (expires ?? now.AddHours(1)).AddHours(-2),
            Expires = expires ?? now.AddHours(1),
            Subject = new ClaimsIdentity([new Claim("azp", caller), new Claim("oid", Guid.NewGuid().ToString())]),
            SigningCredentials = new SigningCredentials(key ?? Key, SecurityAlgorithms.HmacSha256),
        });
    }

    private async Task<HttpResponseMessage> GetAsync(string token) => await _app.Client(token).GetAsync("/jobs/x");

    [Fact]
    public async Task A_token_of_the_tenant_for_the_trainer_from_an_allowed_caller_is_accepted()
    {
        Assert.Equal(HttpStatusCode.NotFound, (await GetAsync(Token())).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await GetAsync(Token(issuer: $"https://sts.windows.net/{Tenant}/"))).StatusCode);   // v1 tokens
        Assert.Equal(HttpStatusCode.NotFound, (await GetAsync(TrainerApp.ApiKey)).StatusCode);   // the shared secret still works
    }

    [Fact]
    public async Task Other_tenants_audiences_keys_expired_tokens_and_other_callers_are_refused()
    {
        foreach (string token in new[]
        {
            Token(issuer: "https://login.microsoftonline.com/99999999-2222-3333-4444-555555555555/v2.0"),
            Token(audience: "api://something-else"),
            Token(expires: DateTime.UtcNow.AddHours(-1)),
            Token(key: new SymmetricSecurityKey(new byte[32]) { KeyId = "test" }),
            "not-a-jwt",
        })
        {
            using var response = await GetAsync(token);
            Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
            Assert.Contains("invalid credentials", (await JobsApiTests.ErrorOf(response)).GetProperty("message").GetString());
        }
        using var stranger = await GetAsync(Token(caller: "cccccccc-0000-0000-0000-000000000003"));
        Assert.Equal(HttpStatusCode.Unauthorized, stranger.StatusCode);
        Assert.Contains("not in FLM_TRAINER_AUTH_ALLOWED_CALLERS", (await JobsApiTests.ErrorOf(stranger)).GetProperty("message").GetString());
    }
}
