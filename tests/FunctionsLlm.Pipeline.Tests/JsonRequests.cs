using System.Text;
using Microsoft.AspNetCore.Http;

namespace FunctionsLlm.Pipeline.Tests;

/// <summary>Requests as the Functions host hands them to an HTTP trigger.</summary>
internal static class JsonRequests
{
    public static HttpRequest Post(string json) => Post(Encoding.UTF8.GetBytes(json));

    public static HttpRequest Post(byte[] body)
    {
        var context = new DefaultHttpContext();
        context.Request.Method = "POST";
        context.Request.ContentType = "application/json";
        context.Request.Body = new MemoryStream(body);
        return context.Request;
    }
}
