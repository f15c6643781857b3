using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using FunctionsLlm.Core.Contracts;
using FunctionsLlm.Core.Storage;
using FunctionsLlm.Orchestration;
using Microsoft.IdentityModel.Tokens;

namespace FunctionsLlm.Trainer.Tests;

/// <summary>
/// Entra ID bearer tokens over real HTTP: the trainer on Kestrel with <c>FLM_TRAINER_AUTH_AUTHORITY</c> pointing at a
/// <see cref="LocalTokenIssuer"/>, whose metadata and keys JwtBearer fetches as it would Entra's; the callers are the
/// pipeline's <see cref="TrainerClient"/> with its <see cref="BearerTokenHandler"/>, and plain requests.
/// </summary>
public sealed class EntraAuthTests : IAsyncLifetime
{
    private const string Tenant = "11111111-2222-3333-4444-555555555555";
    private const string Audience = "api://flm-trainer";
    private const string Pipeline = "aaaaaaaa-0000-0000-0000-000000000001";
    private const string Spec = """
        {"kind": "train", "baseModelPrefix": "base/tiny/", "datasetPrefixes": {"train": "r1/train.jsonl"}, "outputPrefix": "r1-c0/"}
        """;

    private readonly TempFolder _root = new("flm-trainer-entra-");
    private LocalTokenIssuer _issuer = null!;
    private TrainerServer _trainer = null!;

    public async Task InitializeAsync()
    {
        _issuer = await LocalTokenIssuer.StartAsync();
        _trainer = await TrainerServer.StartAsync(new TrainerSettings
        {
            Storage = new StorageSettings(Folder: Path.Combine(_root, "store")),
            CacheFolder = Path.Combine(_root, "cache"),
            ApiKey = TrainerApp.ApiKey,
            EntraTenantId = Tenant,
            EntraAudience = Audience,
            EntraAllowedCallers = [Pipeline, "bbbbbbbb-0000-0000-0000-000000000002"],
            EntraAuthority = _issuer.Issuer,
            MaxConcurrentJobs = 0,
        });
    }

    public async Task DisposeAsync()
    {
        await _trainer.DisposeAsync();
        await _issuer.DisposeAsync();
        _root.Dispose();
    }

    [Fact]
    public async Task The_pipelines_TrainerClient_with_its_managed_identitys_tokens_creates_reads_and_cancels_jobs()
    {
        var identity = new IssuerCredential(_issuer, Pipeline, tokenIssuer: $"https://sts.windows.net/{Tenant}/");
        using var http = PipelineHttp(new AccessTokenSource(identity, $"{Audience}/.default"));
        var client = new TrainerClient(http);

        Assert.Equal(JobState.Queued, (await client.PutJobAsync("r1-c0", Spec)).State);
        Assert.Equal(JobState.Queued, (await client.GetJobAsync("r1-c0")).State);
        Assert.True(await client.CancelJobAsync("r1-c0"));
        Assert.Equal(JobState.Cancelled, (await client.GetJobAsync("r1-c0")).State);
        Assert.Equal([$"{Audience}/.default"], identity.RequestedScopes);   // one token for the four calls
        Assert.True(_issuer.MetadataRequests > 0, "the trainer never fetched the authority's metadata");
    }

    [Fact]
    public async Task A_token_of_the_tenant_for_the_trainer_from_an_allowed_caller_is_accepted()
    {
        foreach (string token in new[]
        {
            _issuer.Token(Audience, Pipeline),                                                      // the authority's own issuer
            _issuer.Token(Audience, Pipeline, issuer: $"https://login.microsoftonline.com/{Tenant}/v2.0"),
            _issuer.Token(Audience, Pipeline, issuer: $"https://sts.windows.net/{Tenant}/", v1: true),   // managed identities' v1 tokens
            _issuer.Token(Audience, "someone", objectId: "bbbbbbbb-0000-0000-0000-000000000002"),  // allowed by object id
            TrainerApp.ApiKey,                                                                      // the shared secret still works
        })
        {
            using var response = await GetAsync(token);
            Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);   // past auth: no such job
        }
    }

    [Fact]
    public async Task Wrong_audiences_issuers_keys_expired_tokens_other_callers_and_no_token_are_refused_with_401()
    {
        using var forgerKey = RSA.Create(2048);
        var cases = new (string? Token, string Message)[]
        {
            (_issuer.Token("api://something-else", Pipeline), "invalid credentials"),
            (_issuer.Token(Audience, Pipeline, issuer: "https://login.microsoftonline.com/99999999-2222-3333-4444-555555555555/v2.0"), "invalid credentials"),
            (_issuer.Token(Audience, Pipeline, expires: DateTimeOffset.UtcNow.AddHours(-1)), "invalid credentials"),
            (_issuer.Token(Audience, Pipeline, signingKey: new RsaSecurityKey(forgerKey) { KeyId = _issuer.KeyId }), "invalid credentials"),
            ("not-a-jwt", "invalid credentials"),
            (_issuer.Token(Audience, "cccccccc-0000-0000-0000-000000000003"), "not in FLM_TRAINER_AUTH_ALLOWED_CALLERS"),
            (null, "missing credentials"),
        };
        foreach (var (token, message) in cases)
        {
            using var response = await GetAsync(token);
            Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
            Assert.Equal("Bearer", response.Headers.WwwAuthenticate.ToString());
            Assert.Contains(message, (await JobsApiTests.ErrorOf(response)).GetProperty("message").GetString());
        }
    }

    [Fact]
    public async Task A_TrainerClient_whose_identity_is_not_allowed_or_asks_for_another_audience_is_rejected_for_good()
    {
        foreach (var (identity, scope) in new[]
        {
            (new IssuerCredential(_issuer, "cccccccc-0000-0000-0000-000000000003"), $"{Audience}/.default"),
            (new IssuerCredential(_issuer, Pipeline), "api://something-else/.default"),
        })
        {
            using var http = PipelineHttp(new AccessTokenSource(identity, scope));
            var e = await Assert.ThrowsAsync<TrainerRejectedException>(() => new TrainerClient(http).PutJobAsync("r1-c0", Spec));
            Assert.Contains("refused with 401", e.Message);
        }
        Assert.False(File.Exists(Path.Combine(_root, "store", "checkpoints", "r1-c0", "job.json")));
    }

    /// <summary>The pipeline app's HTTP client for the trainer: <see cref="BearerTokenHandler"/> over sockets, no API key.</summary>
    private HttpClient PipelineHttp(AccessTokenSource tokens)
    {
        var http = new HttpClient(new BearerTokenHandler(tokens) { InnerHandler = new SocketsHttpHandler() });
        TrainerClient.Configure(http, _trainer.Address, apiKey: null);
        return http;
    }

    private async Task<HttpResponseMessage> GetAsync(string? token)
    {
        using var http = new HttpClient { BaseAddress = _trainer.Address };
        if (token is not null)
            http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return await http.GetAsync(new Uri("jobs/x", UriKind.Relative));
    }
}
