using System.Security.Cryptography;
using System.Text;

namespace FunctionsLlm.Serving.Hosting;

/// <summary>Bearer API key check in constant time.</summary>
internal static class ApiKey
{
    public static bool Matches(string? authorization, string apiKey)
    {
        const string Scheme = "Bearer ";
        if (authorization is null || !authorization.StartsWith(Scheme, StringComparison.OrdinalIgnoreCase))
            return false;
        return CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(authorization[Scheme.Length..].Trim()), Encoding.UTF8.GetBytes(apiKey));
    }
}
