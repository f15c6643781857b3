// Who may do what, and where: every role assignment of the deployment, each scoped to the one resource (or
// blob container) it needs.
//
//   pipeline   Storage Blob Data Owner, Queue + Table Data Contributor   storage account (its AzureWebJobsStorage:
//              blobs of every container, the Durable Functions task hub, the Flex deployment package)
//   trainer    Storage Blob Data Contributor                            datasets, checkpoints, models, runs
//              AcrPull                                                  registry
//   inference  Storage Blob Data Reader                                 models
//              Storage Blob Data Contributor                            azure-webjobs-hosts, azure-webjobs-secrets
//                                                                       (the Functions host's locks and keys)
//              AcrPull                                                  registry
//   all three  Monitoring Metrics Publisher                             Application Insights (local auth is off)
//   operator   Storage Blob Data Contributor                            training-data (upload data: start a run)
//   (optional) Storage Blob Data Reader                                 runs, models (read reports and results)
//   API key mode only (keyVaultName set):
//   pipeline, trainer  Key Vault Secrets User                           the vault (read trainer-api-key)
//   operator           Key Vault Secrets Officer                        the vault (deploy.sh stores the key)

param storageAccountName string
param registryName string
param appInsightsName string
param pipelineIdentityName string
param trainerIdentityName string
param inferenceIdentityName string

@description('Object id of the person or CI principal who uploads training data; empty grants nothing.')
param operatorPrincipalId string

@allowed(['User', 'Group', 'ServicePrincipal'])
param operatorPrincipalType string

@description('The trainer API key\'s vault (API key mode); empty: Entra ID mode, no vault.')
param keyVaultName string

// Built-in role definition ids (the same in every tenant).
var roles = {
  storageBlobDataOwner: 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b'
  storageBlobDataContributor: 'ba92f5b4-2d11-453d-a403-e96b0029c9fe'
  storageBlobDataReader: '2a2b9908-6ea1-4ae2-8e65-a410df84e7d1'
  storageQueueDataContributor: '974c5e8b-45b9-4653-ba55-5f855dd0fb88'
  storageTableDataContributor: '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3'
  acrPull: '7f951dda-4ed3-4680-a7ca-43fe172d538d'
  monitoringMetricsPublisher: '3913510d-42f4-4e42-8a64-420c390055eb'
  keyVaultSecretsUser: '4633458b-17de-408a-b874-0445c86b69e6'
  keyVaultSecretsOfficer: 'b86a8fe4-44ce-4948-aee5-eccb2c155cd7'
}

var pipelineStorageRoles = [
  roles.storageBlobDataOwner
  roles.storageQueueDataContributor
  roles.storageTableDataContributor
]
var trainerContainers = ['datasets', 'checkpoints', 'models', 'runs']
var inferenceHostContainers = ['azure-webjobs-hosts', 'azure-webjobs-secrets']
var operatorReadContainers = ['runs', 'models']

resource pipelineIdentity 'Microsoft.ManagedIdentity/userAssignedIdentities@2024-11-30' existing = {
  name: pipelineIdentityName
}

resource trainerIdentity 'Microsoft.ManagedIdentity/userAssignedIdentities@2024-11-30' existing = {
  name: trainerIdentityName
}

resource inferenceIdentity 'Microsoft.ManagedIdentity/userAssignedIdentities@2024-11-30' existing = {
  name: inferenceIdentityName
}

resource storage 'Microsoft.Storage/storageAccounts@2025-06-01' existing = {
  name: storageAccountName
}

resource blobService 'Microsoft.Storage/storageAccounts/blobServices@2025-06-01' existing = {
  parent: storage
  name: 'default'
}

resource modelsContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2025-06-01' existing = {
  parent: blobService
  name: 'models'
}

resource trainerContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2025-06-01' existing = [
  for container in trainerContainers: {
    parent: blobService
    name: container
  }
]

resource inferenceHostContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2025-06-01' existing = [
  for container in inferenceHostContainers: {
    parent: blobService
    name: container
  }
]

resource trainingDataContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2025-06-01' existing = {
  parent: blobService
  name: 'training-data'
}

resource operatorReadContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2025-06-01' existing = [
  for container in operatorReadContainers: {
    parent: blobService
    name: container
  }
]

resource registry 'Microsoft.ContainerRegistry/registries@2025-04-01' existing = {
  name: registryName
}

resource appInsights 'Microsoft.Insights/components@2020-02-02' existing = {
  name: appInsightsName
}

resource vault 'Microsoft.KeyVault/vaults@2024-11-01' existing = if (!empty(keyVaultName)) {
  name: keyVaultName
}

resource pipelineStorage 'Microsoft.Authorization/roleAssignments@2022-04-01' = [
  for role in pipelineStorageRoles: {
    scope: storage
    name: guid(storage.id, pipelineIdentity.id, role)
    properties: {
      principalId: pipelineIdentity.properties.principalId
      principalType: 'ServicePrincipal'
      roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', role)
    }
  }
]

resource trainerBlobs 'Microsoft.Authorization/roleAssignments@2022-04-01' = [
  for (container, i) in trainerContainers: {
    scope: trainerContainer[i]
    name: guid(trainerContainer[i].id, trainerIdentity.id, roles.storageBlobDataContributor)
    properties: {
      principalId: trainerIdentity.properties.principalId
      principalType: 'ServicePrincipal'
      roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageBlobDataContributor)
    }
  }
]

resource inferenceModels 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  scope: modelsContainer
  name: guid(modelsContainer.id, inferenceIdentity.id, roles.storageBlobDataReader)
  properties: {
    principalId: inferenceIdentity.properties.principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageBlobDataReader)
  }
}

resource inferenceHost 'Microsoft.Authorization/roleAssignments@2022-04-01' = [
  for (container, i) in inferenceHostContainers: {
    scope: inferenceHostContainer[i]
    name: guid(inferenceHostContainer[i].id, inferenceIdentity.id, roles.storageBlobDataContributor)
    properties: {
      principalId: inferenceIdentity.properties.principalId
      principalType: 'ServicePrincipal'
      roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageBlobDataContributor)
    }
  }
]

resource trainerPull 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  scope: registry
  name: guid(registry.id, trainerIdentity.id, roles.acrPull)
  properties: {
    principalId: trainerIdentity.properties.principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.acrPull)
  }
}

resource inferencePull 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  scope: registry
  name: guid(registry.id, inferenceIdentity.id, roles.acrPull)
  properties: {
    principalId: inferenceIdentity.properties.principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.acrPull)
  }
}

resource pipelineTelemetry 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  scope: appInsights
  name: guid(appInsights.id, pipelineIdentity.id, roles.monitoringMetricsPublisher)
  properties: {
    principalId: pipelineIdentity.properties.principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.monitoringMetricsPublisher)
  }
}

resource trainerTelemetry 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  scope: appInsights
  name: guid(appInsights.id, trainerIdentity.id, roles.monitoringMetricsPublisher)
  properties: {
    principalId: trainerIdentity.properties.principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.monitoringMetricsPublisher)
  }
}

resource inferenceTelemetry 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  scope: appInsights
  name: guid(appInsights.id, inferenceIdentity.id, roles.monitoringMetricsPublisher)
  properties: {
    principalId: inferenceIdentity.properties.principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.monitoringMetricsPublisher)
  }
}

resource operatorUpload 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (!empty(operatorPrincipalId)) {
  scope: trainingDataContainer
  name: guid(trainingDataContainer.id, operatorPrincipalId, roles.storageBlobDataContributor)
  properties: {
    principalId: operatorPrincipalId
    principalType: operatorPrincipalType
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageBlobDataContributor)
  }
}

resource operatorRead 'Microsoft.Authorization/roleAssignments@2022-04-01' = [
  for (container, i) in operatorReadContainers: if (!empty(operatorPrincipalId)) {
    scope: operatorReadContainer[i]
    name: guid(operatorReadContainer[i].id, operatorPrincipalId, roles.storageBlobDataReader)
    properties: {
      principalId: operatorPrincipalId
      principalType: operatorPrincipalType
      roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageBlobDataReader)
    }
  }
]

resource pipelineApiKey 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (!empty(keyVaultName)) {
  scope: vault
  name: guid(vault.id, pipelineIdentity.id, roles.keyVaultSecretsUser)
  properties: {
    principalId: pipelineIdentity.properties.principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.keyVaultSecretsUser)
  }
}

resource trainerApiKey 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (!empty(keyVaultName)) {
  scope: vault
  name: guid(vault.id, trainerIdentity.id, roles.keyVaultSecretsUser)
  properties: {
    principalId: trainerIdentity.properties.principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.keyVaultSecretsUser)
  }
}

resource operatorApiKey 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (!empty(keyVaultName) && !empty(operatorPrincipalId)) {
  scope: vault
  name: guid(vault.id, operatorPrincipalId, roles.keyVaultSecretsOfficer)
  properties: {
    principalId: operatorPrincipalId
    principalType: operatorPrincipalType
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.keyVaultSecretsOfficer)
  }
}
