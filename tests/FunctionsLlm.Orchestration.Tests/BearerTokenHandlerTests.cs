using System.Collections.Concurrent;
using System.Net;
using Azure.Core;

namespace FunctionsLlm.Orchestration.Tests;

/// <summary>
/// <see cref="BearerTokenHandler"/> and its <see cref="AccessTokenSource"/>: which token each request carries (recorded by
/// the inner handler) and how often the credential is asked, on a clock the test moves.
/// </summary>
public sealed class BearerTokenHandlerTests
{
    private const string Scope = "api://flm-trainer/.default";

    [Fact]
    public async Task A_fresh_token_is_reused_for_every_request()
    {
        var clock = new ManualClock();
        var credential = new CountingCredential(clock, lifetime: TimeSpan.FromHours(1));
        var (http, sent) = Client(new AccessTokenSource(credential, Scope, clock));

        for (int i = 0; i < 3; i++)
        {
            await http.GetAsync(new Uri("jobs/x", UriKind.Relative));
            clock.Advance(TimeSpan.FromMinutes(10));
        }

        Assert.Equal(["Bearer token-1", "Bearer token-1", "Bearer token-1"], sent);
        Assert.Equal([Scope], credential.Scopes.Distinct());
        Assert.Equal(1, credential.Calls);
    }

    [Fact]
    public async Task A_token_within_five_minutes_of_its_expiry_is_replaced()
    {
        var clock = new ManualClock();
        var credential = new CountingCredential(clock, lifetime: TimeSpan.FromHours(1));
        var (http, sent) = Client(new AccessTokenSource(credential, Scope, clock));

        await http.GetAsync(new Uri("jobs/x", UriKind.Relative));
        clock.Advance(TimeSpan.FromMinutes(54));   // 6 minutes left: still used
        await http.GetAsync(new Uri("jobs/x", UriKind.Relative));
        clock.Advance(TimeSpan.FromMinutes(2));    // 4 minutes left: replaced
        await http.GetAsync(new Uri("jobs/x", UriKind.Relative));
        await http.GetAsync(new Uri("jobs/x", UriKind.Relative));

        Assert.Equal(["Bearer token-1", "Bearer token-1", "Bearer token-2", "Bearer token-2"], sent);
        Assert.Equal(2, credential.Calls);
    }

    [Fact]
    public async Task A_token_is_replaced_once_its_refresh_time_has_passed()
    {
        var clock = new ManualClock();
        var credential = new CountingCredential(clock, lifetime: TimeSpan.FromHours(24), refreshAfter: TimeSpan.FromHours(12));
        var (http, sent) = Client(new AccessTokenSource(credential, Scope, clock));

        await http.GetAsync(new Uri("jobs/x", UriKind.Relative));
        clock.Advance(TimeSpan.FromHours(11.9));
        await http.GetAsync(new Uri("jobs/x", UriKind.Relative));
        clock.Advance(TimeSpan.FromHours(0.2));
        await http.GetAsync(new Uri("jobs/x", UriKind.Relative));

        Assert.Equal(["Bearer token-1", "Bearer token-1", "Bearer token-2"], sent);
    }

    [Fact]
    public async Task Concurrent_requests_share_one_fetch_of_the_token()
    {
        var clock = new ManualClock();
        var credential = new CountingCredential(clock, lifetime: TimeSpan.FromHours(1)) { Gate = new TaskCompletionSource() };
        var (http, sent) = Client(new AccessTokenSource(credential, Scope, clock));

        var requests = Enumerable.Range(0, 50).Select(_ => Task.Run(() => http.GetAsync(new Uri("jobs/x", UriKind.Relative)))).ToList();
        await credential.Started.Task.WaitAsync(TimeSpan.FromSeconds(10));
        await Task.Delay(200);   // the other 49 reach the token source while the first fetch is still waiting
        credential.Gate.SetResult();
        await Task.WhenAll(requests).WaitAsync(TimeSpan.FromSeconds(10));

        Assert.Equal(1, credential.Calls);
        Assert.Equal(50, sent.Count);
        Assert.All(sent, header => Assert.Equal("Bearer token-1", header));
    }

    [Fact]
    public async Task A_credential_failure_is_a_failed_call_naming_the_scope_that_the_trainer_client_reports_as_worth_retrying()
    {
        var credential = new CountingCredential(new ManualClock(), lifetime: TimeSpan.FromHours(1)) { Failure = new InvalidOperationException("identity endpoint down") };
        var (http, sent) = Client(new AccessTokenSource(credential, Scope));
        http.BaseAddress = new Uri("http://trainer.invalid/");

        var e = await Assert.ThrowsAsync<TrainerUnavailableException>(() => new TrainerClient(http).GetJobAsync("x"));

        Assert.Contains($"no access token for '{Scope}': identity endpoint down", e.Message);
        Assert.Empty(sent);
    }

    private static (HttpClient Http, ConcurrentQueue<string> Sent) Client(AccessTokenSource tokens)
    {
        var sent = new ConcurrentQueue<string>();
        var http = new HttpClient(new BearerTokenHandler(tokens) { InnerHandler = new RecordingHandler(sent) }) { BaseAddress = new Uri("http://trainer.test/") };
        return (http, sent);
    }

    /// <summary>The trainer's side of the wire: records each request's Authorization header and answers 200.</summary>
    private sealed class RecordingHandler(ConcurrentQueue<string> sent) : HttpMessageHandler
    {
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            sent.Enqueue(request.Headers.Authorization?.ToString() ?? "");
            return Task.FromResult(new HttpResponseMessage(HttpStatusCode.OK));
        }
    }

    /// <summary>Issues <c>token-1</c>, <c>token-2</c>, … valid for <paramref name="lifetime"/> from the clock's now.</summary>
    private sealed class CountingCredential(ManualClock clock, TimeSpan lifetime, TimeSpan? refreshAfter = null) : TokenCredential
    {
        private int _calls;

        public int Calls => Volatile.Read(ref _calls);

        public ConcurrentQueue<string> Scopes { get; } = new();

        /// <summary>When set, each fetch waits for it (after signalling <see cref="Started"/>).</summary>
        public TaskCompletionSource? Gate { get; init; }

        public TaskCompletionSource Started { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Exception? Failure { get; init; }

        public override async ValueTask<AccessToken> GetTokenAsync(TokenRequestContext requestContext, CancellationToken cancellationToken)
        {
            int call = Interlocked.Increment(ref _calls);
            foreach (var scope in requestContext.Scopes)
                Scopes.Enqueue(scope);
            Started.TrySetResult();
            if (Gate is not null)
                await Gate.Task.WaitAsync(cancellationToken);
            if (Failure is not null)
                throw Failure;
            var now = clock.GetUtcNow();
            return new AccessToken($"token-{call}", now + lifetime, now + refreshAfter);
        }

        public override AccessToken GetToken(TokenRequestContext requestContext, CancellationToken cancellationToken) =>
            GetTokenAsync(requestContext, cancellationToken).AsTask().GetAwaiter().GetResult();
    }

    private sealed class ManualClock : TimeProvider
    {
        private DateTimeOffset _now = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

        public override DateTimeOffset GetUtcNow() => _now;

        public void Advance(TimeSpan by) => _now += by;
    }
}
