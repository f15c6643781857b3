using System.Net;
using System.Net.Http.Headers;
using System.Text;
using FunctionsLlm.Core.Contracts;

namespace FunctionsLlm.Orchestration;

/// <summary>The trainer refused a call for good (400 invalid spec, 404 unknown job, 409 another spec under the id, 401/403): retrying cannot help.</summary>
public sealed class TrainerRejectedException(string message) : Exception(message);

/// <summary>The trainer did not answer usefully (connection refused, timeout, 5xx, 429): worth retrying.</summary>
public sealed class TrainerUnavailableException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>
/// The trainer app's <c>/jobs</c> API (README "The trainer app"): <c>PUT /jobs/{id}</c> (idempotent: the same spec
/// again answers 200 with the existing job), <c>GET /jobs/{id}</c>, <c>DELETE /jobs/{id}</c>. Callers authenticate with
/// one of: the API key, on the <see cref="HttpClient"/>'s default headers (<see cref="Configure"/>); an Entra ID access
/// token, sent by a <see cref="BearerTokenHandler"/> among the client's handlers.
/// </summary>
public sealed class TrainerClient(HttpClient http)
{
    public static void Configure(HttpClient http, Uri baseAddress, string? apiKey)
    {
        ArgumentNullException.ThrowIfNull(http);
        http.BaseAddress = baseAddress;
        if (!string.IsNullOrEmpty(apiKey))
            http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", apiKey);
    }

    public async Task<JobStatus> PutJobAsync(string jobId, string specJson, CancellationToken cancellationToken = default)
    {
        using var content = new StringContent(specJson, Encoding.UTF8, "application/json");
        return await SendAsync(HttpMethod.Put, jobId, content, cancellationToken).ConfigureAwait(false)
            ?? throw new TrainerRejectedException($"PUT /jobs/{jobId} answered without a job status");
    }

    public async Task<JobStatus> GetJobAsync(string jobId, CancellationToken cancellationToken = default) =>
        await SendAsync(HttpMethod.Get, jobId, null, cancellationToken).ConfigureAwait(false)
            ?? throw new TrainerRejectedException($"GET /jobs/{jobId} answered without a job status");

    /// <summary>Cancels the job; false when the trainer does not know it.</summary>
    public async Task<bool> CancelJobAsync(string jobId, CancellationToken cancellationToken = default)
    {
        try
        {
            await SendAsync(HttpMethod.Delete, jobId, null, cancellationToken, parse: false).ConfigureAwait(false);
            return true;
        }
        catch (TrainerRejectedException)
        {
            return false;
        }
    }

    private async Task<JobStatus?> SendAsync(HttpMethod method, string jobId, HttpContent? content, CancellationToken cancellationToken,
        bool parse = true)
    {
        var what = $"{method} /jobs/{jobId}";
        using var request = new HttpRequestMessage(method, $"jobs/{Uri.EscapeDataString(jobId)}") { Content = content };
        HttpResponseMessage response;
        try
        {
            response = await http.SendAsync(request, cancellationToken).ConfigureAwait(false);
        }
        catch (HttpRequestException e)
        {
            throw new TrainerUnavailableException($"{what}: the trainer at {http.BaseAddress} is unreachable: {e.Message}", e);
        }
        catch (TaskCanceledException e) when (!cancellationToken.IsCancellationRequested)
        {
            throw new TrainerUnavailableException($"{what}: the trainer at {http.BaseAddress} did not answer in time", e);
        }
        using (response)
        {
            var body = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
            if ((int)response.StatusCode >= 500 || response.StatusCode == HttpStatusCode.TooManyRequests)
                throw new TrainerUnavailableException($"{what}: the trainer answered {(int)response.StatusCode}: {Shorten(body)}");
            if (!response.IsSuccessStatusCode)
                throw new TrainerRejectedException($"{what}: the trainer refused with {(int)response.StatusCode}: {Shorten(body)}");
            if (!parse)
                return null;
            if (!JobStatus.TryParse(body, out var status, out var error))
                throw new TrainerRejectedException($"{what}: the trainer's answer is not a job status: {error}");
            return status;
        }
    }

    private static string Shorten(string text) => text.Length <= 500 ? text : text[..500] + "…";
}
