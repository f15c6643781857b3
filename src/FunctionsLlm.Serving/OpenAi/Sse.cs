using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

namespace FunctionsLlm.Serving.OpenAi;

/// <summary>Server-sent events as OpenAI streams them: one <c>data: {json}</c> event per chunk, then <c>data: [DONE]</c>.</summary>
internal static class Sse
{
    public static async Task WriteAsync<T>(HttpContext http, IAsyncEnumerable<T> chunks)
    {
        http.Response.StatusCode = 200;
        http.Response.ContentType = "text/event-stream; charset=utf-8";
        http.Response.Headers.CacheControl = "no-cache";
        http.Features.Get<IHttpResponseBodyFeature>()?.DisableBuffering();
        var body = http.Response.Body;
        try
        {
            await foreach (var chunk in chunks)
            {
                await body.WriteAsync(Encoding.UTF8.GetBytes($"data: {JsonSerializer.Serialize(chunk, OpenAiHandlers.Json)}\n\n"), http.RequestAborted);
                await body.FlushAsync(http.RequestAborted);
            }
        }
        catch (Exception e) when (e is not OperationCanceledException || !http.RequestAborted.IsCancellationRequested)
        {
            // The status line is gone: report the failure as an error event, as OpenAI does mid-stream.
            var error = new ErrorResponse(new ErrorBody(e.Message, "server_error", null, null));
            await body.WriteAsync(Encoding.UTF8.GetBytes($"data: {JsonSerializer.Serialize(error, OpenAiHandlers.Json)}\n\n"), http.RequestAborted);
        }
        await body.WriteAsync("data: [DONE]\n\n"u8.ToArray(), http.RequestAborted);
        await body.FlushAsync(http.RequestAborted);
    }
}
