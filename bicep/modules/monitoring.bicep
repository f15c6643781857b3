// Log Analytics (every log and diagnostic setting lands here) and workspace-based Application Insights.
// Local (instrumentation-key) auth is off: the apps send telemetry with their managed identity, which holds
// Monitoring Metrics Publisher on this component (access.bicep), so the connection string grants nothing.

param location string
param tags object
param workspaceName string
param appInsightsName string

@description('Days Log Analytics keeps data.')
@minValue(30)
param retentionInDays int

resource workspace 'Microsoft.OperationalInsights/workspaces@2025-02-01' = {
  name: workspaceName
  location: location
  tags: tags
  properties: {
    sku: {
      name: 'PerGB2018'
    }
    retentionInDays: retentionInDays
    features: {
      enableLogAccessUsingOnlyResourcePermissions: true
    }
  }
}

resource appInsights 'Microsoft.Insights/components@2020-02-02' = {
  name: appInsightsName
  location: location
  tags: tags
  kind: 'web'
  properties: {
    Application_Type: 'web'
    WorkspaceResourceId: workspace.id
    IngestionMode: 'LogAnalytics'
    DisableLocalAuth: true
  }
}

output workspaceId string = workspace.id
output appInsightsName string = appInsights.name
@description('Ingestion endpoint and component id; not a secret while local auth is disabled.')
output appInsightsConnectionString string = appInsights.properties.ConnectionString
