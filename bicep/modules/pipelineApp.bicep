// The pipeline function app (src/FunctionsLlm.Pipeline: blob trigger, Durable orchestrator, activities) on a
// Flex Consumption plan. Torch-free, deployed as a zip package into a blob container; the host reaches
// storage (blobs, Durable queues and tables) with its user-assigned identity, no connection string. Its VNet
// integration subnet is how it reaches the trainer (internal environment, private DNS); it calls it with an
// Entra ID token for the trainer's app registration, or with the API key read from Key Vault.

param location string
param tags object
param planName string
param name string
param identityId string
param identityClientId string
param storageAccountName string
param workspaceId string

@description('Blob container URL of the deployment package (storage.outputs.deploymentContainerUrl).')
param deploymentContainerUrl string

@description('Upper bound of Flex Consumption instances.')
@minValue(1)
@maxValue(1000)
param maximumInstanceCount int

@description('Memory per instance in MB.')
@allowed([512, 2048, 4096])
param instanceMemoryMB int

@description('Model the Publish activity writes to models/{modelName}/current.json.')
param modelName string

@description('What a run publishes when its sidecar does not say: merged, adapter or both (FLM_PUBLISH).')
@allowed(['merged', 'adapter', 'both'])
param publish string = 'merged'

@description('Files a run publishes beside the merged model when its sidecar does not say, comma-separated: gguf-q8_0, gguf-f16, gguf-bf16, gguf-f32 (FLM_EXPORT; empty: none).')
param export string = ''

@description('Blob service endpoint of the storage account (https://{account}.blob.core.windows.net/).')
param storageBlobUri string

@description('Base URL of the trainer\'s /jobs API.')
param trainerUrl string

@description('The VNet integration subnet (delegated to Microsoft.App/environments).')
param subnetId string

@description('Client id of the trainer\'s Entra app registration: the pipeline asks its identity for a token for it. Empty: API key mode.')
param trainerAuthAudience string

@description('API key mode: the Key Vault secret URI of the trainer\'s key; empty until deploy.sh has stored it.')
param trainerApiKeySecretUri string

@description('Application Insights connection string (local auth off: the identity sends telemetry).')
param appInsightsConnectionString string

var trainerAuthSettings = concat(
  empty(trainerAuthAudience) ? [] : [{ name: 'FLM_TRAINER_AUTH_AUDIENCE', value: trainerAuthAudience }],
  empty(trainerApiKeySecretUri) ? [] : [{ name: 'FLM_TRAINER_API_KEY', value: '@Microsoft.KeyVault(SecretUri=${trainerApiKeySecretUri})' }]
)

resource plan 'Microsoft.Web/serverfarms@2024-11-01' = {
  name: planName
  location: location
  tags: tags
  kind: 'functionapp'
  sku: {
    tier: 'FlexConsumption'
    name: 'FC1'
  }
  properties: {
    reserved: true
  }
}

resource pipeline 'Microsoft.Web/sites@2024-11-01' = {
  name: name
  location: location
  tags: union(tags, { 'azd-service-name': 'pipeline' })
  kind: 'functionapp,linux'
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${identityId}': {}
    }
  }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    virtualNetworkSubnetId: subnetId
    // Key Vault references (the API key mode's FLM_TRAINER_API_KEY) resolve with the pipeline's identity.
    keyVaultReferenceIdentity: identityId
    siteConfig: {
      minTlsVersion: '1.2'
      http20Enabled: true
      // Flex Consumption takes the worker runtime from functionAppConfig, not from FUNCTIONS_WORKER_RUNTIME.
      appSettings: concat([
        // The host's storage (blob trigger, Durable Functions task hub, keys), identity-based.
        { name: 'AzureWebJobsStorage__accountName', value: storageAccountName }
        { name: 'AzureWebJobsStorage__credential', value: 'managedidentity' }
        { name: 'AzureWebJobsStorage__clientId', value: identityClientId }
        { name: 'AZURE_CLIENT_ID', value: identityClientId }
        { name: 'FLM_MODEL_NAME', value: modelName }
        { name: 'FLM_PUBLISH', value: publish }
        { name: 'FLM_EXPORT', value: export }
        { name: 'FLM_STORAGE_BLOB_URI', value: storageBlobUri }
        { name: 'FLM_TRAINER_URL', value: trainerUrl }
        { name: 'APPLICATIONINSIGHTS_CONNECTION_STRING', value: appInsightsConnectionString }
        { name: 'APPLICATIONINSIGHTS_AUTHENTICATION_STRING', value: 'ClientId=${identityClientId};Authorization=AAD' }
      ], trainerAuthSettings)
    }
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: deploymentContainerUrl
          authentication: {
            type: 'UserAssignedIdentity'
            userAssignedIdentityResourceId: identityId
          }
        }
      }
      scaleAndConcurrency: {
        maximumInstanceCount: maximumInstanceCount
        instanceMemoryMB: instanceMemoryMB
      }
      runtime: {
        name: 'dotnet-isolated'
        version: '10.0'
      }
    }
  }
}

// Deployments authenticate with Entra ID (az functionapp deployment, azd); no FTP or SCM basic credentials.
resource ftpCredentials 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2024-11-01' = {
  parent: pipeline
  name: 'ftp'
  properties: {
    allow: false
  }
}

resource scmCredentials 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2024-11-01' = {
  parent: pipeline
  name: 'scm'
  properties: {
    allow: false
  }
}

resource diagnostics 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  scope: pipeline
  name: 'to-log-analytics'
  properties: {
    workspaceId: workspaceId
    logs: [{ categoryGroup: 'allLogs', enabled: true }]
    metrics: [{ category: 'AllMetrics', enabled: true }]
  }
}

output name string = pipeline.name
output hostName string = pipeline.properties.defaultHostName
