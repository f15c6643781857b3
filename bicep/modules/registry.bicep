// Container registry for the trainer and inference images. No admin user and no anonymous pull: the apps pull
// with their managed identities (AcrPull, access.bicep), deploy.sh pushes with the deployer's Entra identity.

param location string
param tags object
param name string
param workspaceId string

@description('Basic is enough for dev; Standard or Premium for prod (storage, throughput, geo-replication).')
@allowed(['Basic', 'Standard', 'Premium'])
param skuName string

resource registry 'Microsoft.ContainerRegistry/registries@2025-04-01' = {
  name: name
  location: location
  tags: tags
  sku: {
    name: skuName
  }
  properties: {
    adminUserEnabled: false
    anonymousPullEnabled: false
    publicNetworkAccess: 'Enabled'
  }
}

resource diagnostics 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  scope: registry
  name: 'to-log-analytics'
  properties: {
    workspaceId: workspaceId
    logs: [{ categoryGroup: 'allLogs', enabled: true }]
    metrics: [{ category: 'AllMetrics', enabled: true }]
  }
}

output name string = registry.name
output loginServer string = registry.properties.loginServer
