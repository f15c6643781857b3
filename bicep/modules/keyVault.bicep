// API key mode only (no Entra app registration for the trainer could be created): a Key Vault holding the one
// secret the pipeline and the trainer share, `trainer-api-key`. deploy.sh generates it once (random, 256 bits)
// and stores it; the trainer reads it as a Container Apps Key Vault secret and the pipeline as a Key Vault
// reference, each with its own identity (access.bicep). The value is never in a template, parameter or output.

param location string
param tags object
param name string
param workspaceId string

resource vault 'Microsoft.KeyVault/vaults@2024-11-01' = {
  name: name
  location: location
  tags: tags
  properties: {
    tenantId: tenant().tenantId
    sku: {
      family: 'A'
      name: 'standard'
    }
    enableRbacAuthorization: true
    enableSoftDelete: true
    softDeleteRetentionInDays: 7
    publicNetworkAccess: 'Enabled'
  }
}

resource diagnostics 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  scope: vault
  name: 'to-log-analytics'
  properties: {
    workspaceId: workspaceId
    logs: [{ categoryGroup: 'allLogs', enabled: true }]
    metrics: [{ category: 'AllMetrics', enabled: true }]
  }
}

output name string = vault.name
@description('https://{vault}.vault.azure.net/secrets/trainer-api-key: the latest version of the key.')
output apiKeySecretUri string = '${vault.properties.vaultUri}secrets/trainer-api-key'
