using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;
using FunctionsLlm.Trainer.Api;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace FunctionsLlm.Trainer.Auth;

/// <summary>
/// Every route but health and readiness needs <c>Authorization: Bearer …</c> carrying either the shared secret
/// <c>FLM_TRAINER_API_KEY</c> (compared in constant time) or an Entra ID access token for
/// <c>FLM_TRAINER_AUTH_AUDIENCE</c> issued by tenant <c>FLM_TRAINER_AUTH_TENANT_ID</c> (validated by JwtBearer: signature
/// from the keys that <c>FLM_TRAINER_AUTH_AUTHORITY</c>'s metadata names, by default the tenant's; issuer, audience,
/// lifetime; with <c>FLM_TRAINER_AUTH_ALLOWED_CALLERS</c>, also the calling client). With neither configured every call
/// is refused.
/// </summary>
public static class BearerAuth
{
    public static IServiceCollection AddTrainerAuth(this IServiceCollection services)
    {
        services.AddAuthentication(JwtBearerDefaults.AuthenticationScheme).AddJwtBearer();
        services.AddOptions<JwtBearerOptions>(JwtBearerDefaults.AuthenticationScheme)
            .Configure<TrainerSettings>((options, settings) =>
            {
                if (!settings.EntraEnabled)
                    return;
                // v2.0 metadata by default; tokens of both endpoint versions are accepted (v1 tokens, which managed
                // identities get, name sts.windows.net as issuer), and JwtBearer adds the `issuer` of the authority's
                // metadata to these (a local issuer's, another cloud's).
                var authority = settings.EntraAuthorityAddress;
                options.Authority = authority;
                options.RequireHttpsMetadata = !TrainerSettings.IsLoopbackHttp(new Uri(authority));
                options.Audience = settings.EntraAudience;
                options.MapInboundClaims = false;
                options.TokenValidationParameters.ValidAudiences = [settings.EntraAudience!, $"api://{settings.EntraAudience}"];
                options.TokenValidationParameters.ValidIssuers =
                [
                    $"https://login.microsoftonline.com/{settings.EntraTenantId}/v2.0",
                    $"https://sts.windows.net/{settings.EntraTenantId}/",
                ];
            });
        return services;
    }

    public static IApplicationBuilder UseTrainerAuth(this IApplicationBuilder app) => app.Use(async (http, next) =>
    {
        if (JobsApi.AnonymousPaths.Any(p => http.Request.Path.Equals(p, StringComparison.OrdinalIgnoreCase)))
        {
            await next(http);
            return;
        }
        var settings = http.RequestServices.GetRequiredService<TrainerSettings>();
        string? token = BearerToken(http.Request.Headers.Authorization);
        string message;
        if (settings.ApiKey is null && !settings.EntraEnabled)
        {
            message = "this trainer accepts no callers: set FLM_TRAINER_API_KEY or FLM_TRAINER_AUTH_TENANT_ID and FLM_TRAINER_AUTH_AUDIENCE";
        }
        else if (token is null)
        {
            message = "missing credentials: send 'Authorization: Bearer <token>'";
        }
        else if (settings.ApiKey is { } key && KeyMatches(token, key))
        {
            await next(http);
            return;
        }
        else if (settings.EntraEnabled && await http.AuthenticateAsync(JwtBearerDefaults.AuthenticationScheme) is { Succeeded: true } result)
        {
            if (IsAllowed(result.Principal, settings.EntraAllowedCallers))
            {
                await next(http);
                return;
            }
            message = "forbidden caller: the Entra ID token is valid but its client is not in FLM_TRAINER_AUTH_ALLOWED_CALLERS";
        }
        else
        {
            message = "invalid credentials: the bearer token is neither the trainer's API key nor a valid Entra ID token for it";
        }
        http.Response.Headers.WWWAuthenticate = "Bearer";
        await JobsApi.Error(StatusCodes.Status401Unauthorized, message, "unauthorized").ExecuteAsync(http);
    });

    // azp (v2 tokens) or appid (v1) name the calling client; oid its service principal or user.
    private static bool IsAllowed(ClaimsPrincipal? principal, IReadOnlyList<string> allowed) =>
        allowed.Count == 0 || (principal?.Claims.Any(c => c.Type is "azp" or "appid" or "oid" && allowed.Contains(c.Value, StringComparer.OrdinalIgnoreCase)) ?? false);

    private static string? BearerToken(string? header) =>
        header is { } h && h.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) && h[7..].Trim() is { Length: > 0 } token ? token : null;

    /// <summary>Constant time in the content: both sides are hashed first, so lengths leak nothing either.</summary>
    internal static bool KeyMatches(string presented, string key) =>
        CryptographicOperations.FixedTimeEquals(SHA256.HashData(Encoding.UTF8.GetBytes(presented)), SHA256.HashData(Encoding.UTF8.GetBytes(key)));
}
