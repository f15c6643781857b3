using Azure.Core;
using Azure.Identity;

namespace FunctionsLlm.Core;

/// <summary>
/// The app's Azure identity, for storage and for the trainer's access tokens alike: <see cref="DefaultAzureCredential"/>
/// with the user-assigned managed identity <c>AZURE_CLIENT_ID</c> (the system-assigned one when unset; a developer's
/// sign-in on a workstation).
/// </summary>
public static class AppIdentity
{
    public static TokenCredential Credential(string? clientId) =>
        new DefaultAzureCredential(new DefaultAzureCredentialOptions { ManagedIdentityClientId = clientId });
}
