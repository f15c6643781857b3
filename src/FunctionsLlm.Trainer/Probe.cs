namespace FunctionsLlm.Trainer;

/// <summary>
/// <c>FunctionsLlm.Trainer --probe [URL]</c>: the image's HEALTHCHECK (the CUDA base image has no curl). Exit 0 when the
/// URL (default the liveness route on 8080) answers 2xx within 5 s, 1 otherwise.
/// </summary>
internal static class Probe
{
    public static async Task<int> RunAsync(string url)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        try
        {
            using var response = await http.GetAsync(new Uri(url));
            return response.IsSuccessStatusCode ? 0 : 1;
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException or UriFormatException)
        {
            await Console.Error.WriteLineAsync($"probe {url}: {e.Message}");
            return 1;
        }
    }
}
