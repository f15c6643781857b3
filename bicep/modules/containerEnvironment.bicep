// A Container Apps environment with workload profiles: the default Consumption profile plus one serverless GPU
// profile. main.bicep creates two: the trainer's, internal and injected into the virtual network (no public IP;
// reachable only from the VNet), and the inference app's, external (public HTTPS). Logs go to Azure Monitor and
// from there, through the diagnostic setting, to Log Analytics (no workspace shared key is handed to it).

param location string
param tags object
param name string
param workspaceId string

@description('Serverless GPU profile type: T4 (16 GB) for dev, A100 (80 GB) for prod.')
@allowed(['Consumption-GPU-NC8as-T4', 'Consumption-GPU-NC24-A100'])
param gpuProfileType string

@description('Infrastructure subnet (delegated to Microsoft.App/environments); empty: no virtual network.')
param infrastructureSubnetId string = ''

@description('With a subnet: true gives the environment only a private static IP in it, no public endpoint.')
param internal bool = false

// The profile's name inside the environment; apps select it with workloadProfileName.
var gpuProfileName = 'gpu'

resource environment 'Microsoft.App/managedEnvironments@2025-07-01' = {
  name: name
  location: location
  tags: tags
  properties: {
    appLogsConfiguration: {
      destination: 'azure-monitor'
    }
    vnetConfiguration: empty(infrastructureSubnetId) ? null : {
      infrastructureSubnetId: infrastructureSubnetId
      internal: internal
    }
    workloadProfiles: [
      {
        name: 'Consumption'
        workloadProfileType: 'Consumption'
      }
      {
        name: gpuProfileName
        workloadProfileType: gpuProfileType
      }
    ]
    zoneRedundant: false
  }
}

resource diagnostics 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  scope: environment
  name: 'to-log-analytics'
  properties: {
    workspaceId: workspaceId
    logs: [{ categoryGroup: 'allLogs', enabled: true }]
    metrics: [{ category: 'AllMetrics', enabled: true }]
  }
}

output id string = environment.id
output name string = environment.name
output defaultDomain string = environment.properties.defaultDomain
output staticIp string = environment.properties.staticIp
output gpuProfileName string = gpuProfileName
