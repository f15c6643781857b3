// The storage account behind everything: the containers of DESIGN.md, the Functions hosts' bookkeeping and the
// Flex Consumption deployment package. Entra ID only: no shared keys (so no connection strings exist), no
// anonymous blob access, TLS 1.2, HTTPS only.

param location string
param tags object
param name string
param workspaceId string

@description('Storage redundancy, e.g. Standard_LRS (dev) or Standard_ZRS (prod).')
param skuName string

@description('Days deleted blobs and containers can be restored, and previous versions are kept in training-data and models.')
@minValue(1)
@maxValue(365)
param retentionDays int

@description('Name of the container that holds the pipeline app\'s deployment package (Flex Consumption).')
param deploymentContainerName string

// DESIGN.md's contract, then what the Functions hosts use (created here so role assignments can target them).
var dataContainers = ['training-data', 'datasets', 'checkpoints', 'models', 'runs']
var hostContainers = ['azure-webjobs-hosts', 'azure-webjobs-secrets', deploymentContainerName]

// Versioning and soft delete are settings of the whole blob service, not of one container. They protect what
// cannot be rebuilt (training-data uploads, published models); the lifecycle policy below drops the versions of
// everything else after a day, so rewritten checkpoints and datasets do not pile up as billed versions.
var protectedContainers = ['training-data', 'models']
var unprotectedPrefixes = map(filter(concat(dataContainers, hostContainers), c => !contains(protectedContainers, c)), c => '${c}/')

resource storage 'Microsoft.Storage/storageAccounts@2025-06-01' = {
  name: name
  location: location
  tags: tags
  kind: 'StorageV2'
  sku: {
    name: skuName
  }
  properties: {
    accessTier: 'Hot'
    allowSharedKeyAccess: false
    allowBlobPublicAccess: false
    allowCrossTenantReplication: false
    defaultToOAuthAuthentication: true
    minimumTlsVersion: 'TLS1_2'
    supportsHttpsTrafficOnly: true
    // Flex Consumption without a virtual network and Event Grid reach the account over its public endpoint;
    // every request still needs an Entra ID token.
    publicNetworkAccess: 'Enabled'
    networkAcls: {
      defaultAction: 'Allow'
      bypass: 'AzureServices'
    }
  }
}

resource blobService 'Microsoft.Storage/storageAccounts/blobServices@2025-06-01' = {
  parent: storage
  name: 'default'
  properties: {
    isVersioningEnabled: true
    deleteRetentionPolicy: {
      enabled: true
      days: retentionDays
    }
    containerDeleteRetentionPolicy: {
      enabled: true
      days: retentionDays
    }
  }
}

resource containers 'Microsoft.Storage/storageAccounts/blobServices/containers@2025-06-01' = [
  for container in concat(dataContainers, hostContainers): {
    parent: blobService
    name: container
    properties: {
      publicAccess: 'None'
    }
  }
]

resource lifecycle 'Microsoft.Storage/storageAccounts/managementPolicies@2025-06-01' = {
  parent: storage
  name: 'default'
  properties: {
    policy: {
      rules: [
        {
          name: 'keep-versions-of-protected-containers'
          enabled: true
          type: 'Lifecycle'
          definition: {
            filters: {
              blobTypes: ['blockBlob']
              prefixMatch: map(protectedContainers, c => '${c}/')
            }
            actions: {
              version: {
                delete: {
                  daysAfterCreationGreaterThan: retentionDays
                }
              }
            }
          }
        }
        {
          name: 'drop-versions-elsewhere'
          enabled: true
          type: 'Lifecycle'
          definition: {
            filters: {
              blobTypes: ['blockBlob']
              prefixMatch: unprotectedPrefixes
            }
            actions: {
              version: {
                delete: {
                  daysAfterCreationGreaterThan: 1
                }
              }
            }
          }
        }
      ]
    }
  }
  dependsOn: [containers]
}

// Queues and tables carry the Durable Functions task hub; declared so their logs can be collected.
resource queueService 'Microsoft.Storage/storageAccounts/queueServices@2025-06-01' = {
  parent: storage
  name: 'default'
}

resource tableService 'Microsoft.Storage/storageAccounts/tableServices@2025-06-01' = {
  parent: storage
  name: 'default'
}

resource accountDiagnostics 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  scope: storage
  name: 'to-log-analytics'
  properties: {
    workspaceId: workspaceId
    metrics: [{ category: 'Transaction', enabled: true }]
  }
}

resource blobDiagnostics 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  scope: blobService
  name: 'to-log-analytics'
  properties: {
    workspaceId: workspaceId
    logs: [{ categoryGroup: 'allLogs', enabled: true }]
    metrics: [{ category: 'Transaction', enabled: true }]
  }
}

resource queueDiagnostics 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  scope: queueService
  name: 'to-log-analytics'
  properties: {
    workspaceId: workspaceId
    logs: [{ categoryGroup: 'allLogs', enabled: true }]
    metrics: [{ category: 'Transaction', enabled: true }]
  }
}

resource tableDiagnostics 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  scope: tableService
  name: 'to-log-analytics'
  properties: {
    workspaceId: workspaceId
    logs: [{ categoryGroup: 'allLogs', enabled: true }]
    metrics: [{ category: 'Transaction', enabled: true }]
  }
}

output name string = storage.name
output id string = storage.id
output blobEndpoint string = storage.properties.primaryEndpoints.blob
output deploymentContainerUrl string = '${storage.properties.primaryEndpoints.blob}${deploymentContainerName}'
