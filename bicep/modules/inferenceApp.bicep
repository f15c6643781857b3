// The inference function app (src/FunctionsLlm.Inference, Functions .NET isolated worker with CUDA TorchSharp),
// hosted natively on Container Apps (kind functionapp) on the environment's GPU profile. It serves
// models/{FLM_MODEL_NAME}/current.json, or the base at models/{FLM_BASE_MODEL_PREFIX} with the adapters published
// for it, over HTTP; the Functions host keeps its keys and locks in the storage
// account through the identity-based AzureWebJobsStorage__* settings.

param location string
param tags object
param name string
param environmentId string
param workloadProfileName string
param identityId string
param identityClientId string
param registryLoginServer string
param storageAccountName string

@description('Image reference; empty deploys a public Functions placeholder until deploy.sh (or azd) has pushed the inference image.')
param image string

@description('Whole vCPUs per replica (at most 8 on T4, 24 on A100).')
param cpu int

@description('Memory per replica, e.g. 56Gi.')
param memory string

@description('Replicas kept warm: 0 lets the GPU scale to zero (cold starts load the model again).')
@minValue(0)
param minReplicas int

@minValue(1)
param maxReplicas int

@description('Merged model served: the app reads models/{modelName}/current.json. Empty when baseModelPrefix is set.')
param modelName string

@description('Base served with its adapters (models/{prefix}, models/{prefix}adapters/*/current.json); empty serves modelName.')
param baseModelPrefix string = ''

@description('Blob service endpoint of the storage account (https://{account}.blob.core.windows.net/).')
param storageBlobUri string

@description('Application Insights connection string (local auth off: the identity sends telemetry).')
param appInsightsConnectionString string

// The Functions host in the azure-functions base images listens on port 80.
var port = 80
var placeholderImage = 'mcr.microsoft.com/azure-functions/dotnet8-quickstart-demo:1.0'

resource inference 'Microsoft.App/containerApps@2025-07-01' = {
  name: name
  location: location
  tags: union(tags, { 'azd-service-name': 'inference' })
  kind: 'functionapp'
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${identityId}': {}
    }
  }
  properties: {
    environmentId: environmentId
    workloadProfileName: workloadProfileName
    configuration: {
      activeRevisionsMode: 'Single'
      ingress: {
        external: true
        targetPort: port
        transport: 'auto'
        allowInsecure: false
      }
      registries: [
        {
          server: registryLoginServer
          identity: identityId
        }
      ]
    }
    template: {
      containers: [
        {
          name: 'inference'
          image: empty(image) ? placeholderImage : image
          resources: {
            cpu: cpu
            memory: memory
          }
          env: concat([
            { name: 'FUNCTIONS_WORKER_RUNTIME', value: 'dotnet-isolated' }
            // The Functions host's own storage (keys, locks), identity-based: no connection string.
            { name: 'AzureWebJobsStorage__accountName', value: storageAccountName }
            { name: 'AzureWebJobsStorage__credential', value: 'managedidentity' }
            { name: 'AzureWebJobsStorage__clientId', value: identityClientId }
            { name: 'AZURE_CLIENT_ID', value: identityClientId }
            { name: 'FLM_STORAGE_BLOB_URI', value: storageBlobUri }
            { name: 'APPLICATIONINSIGHTS_CONNECTION_STRING', value: appInsightsConnectionString }
            { name: 'APPLICATIONINSIGHTS_AUTHENTICATION_STRING', value: 'ClientId=${identityClientId};Authorization=AAD' }
          ], empty(baseModelPrefix)
            ? [{ name: 'FLM_MODEL_NAME', value: modelName }]
            : [{ name: 'FLM_BASE_MODEL_PREFIX', value: baseModelPrefix }])
        }
      ]
      // Functions on Container Apps derives the scale rules from the app's triggers; only the bounds are set here.
      scale: {
        minReplicas: minReplicas
        maxReplicas: maxReplicas
      }
    }
  }
}

output name string = inference.name
output url string = 'https://${inference.properties.configuration.ingress.fqdn}'
