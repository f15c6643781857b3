// The trainer (src/FunctionsLlm.Trainer, ASP.NET Core): a container app on the GPU profile that runs train,
// merge and evaluate jobs behind PUT/GET/DELETE /jobs/{id}. Internal ingress only: it is reachable from apps in
// the same Container Apps environment, never from the internet. It scales to zero between runs; the HTTP rule
// wakes it on the first request, and the pipeline's status polls keep it up while a job runs.

param location string
param tags object
param name string
param environmentId string
param workloadProfileName string
param identityId string
param identityClientId string
param registryLoginServer string

@description('Image reference; empty deploys a public placeholder until deploy.sh (or azd) has pushed the trainer image.')
param image string

@description('Whole vCPUs per replica (at most 8 on T4, 24 on A100).')
param cpu int

@description('Memory per replica, e.g. 56Gi (at most 56Gi on T4, 220Gi on A100).')
param memory string

@description('Upper bound of replicas. Keep 1 until the trainer keeps job state in blob: GET /jobs/{id} must reach the replica that runs the job.')
@minValue(1)
param maxReplicas int

@description('Seconds without requests before scaling to zero; the pipeline polls job status more often than this.')
param cooldownSeconds int

@description('Blob service endpoint of the storage account (https://{account}.blob.core.windows.net/).')
param storageBlobUri string

@description('Application Insights connection string (local auth off: the identity sends telemetry).')
param appInsightsConnectionString string

// ASP.NET Core's port in the trainer image (ASPNETCORE_HTTP_PORTS in infra/docker/trainer.Dockerfile).
var port = 8080
var placeholderImage = 'mcr.microsoft.com/k8se/quickstart:latest'

resource trainer 'Microsoft.App/containerApps@2025-07-01' = {
  name: name
  location: location
  tags: union(tags, { 'azd-service-name': 'trainer' })
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
        external: false
        targetPort: port
        transport: 'http'
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
          name: 'trainer'
          image: empty(image) ? placeholderImage : image
          resources: {
            cpu: cpu
            memory: memory
          }
          env: [
            { name: 'AZURE_CLIENT_ID', value: identityClientId }
            { name: 'FLM_STORAGE_BLOB_URI', value: storageBlobUri }
            { name: 'APPLICATIONINSIGHTS_CONNECTION_STRING', value: appInsightsConnectionString }
            { name: 'APPLICATIONINSIGHTS_AUTHENTICATION_STRING', value: 'ClientId=${identityClientId};Authorization=AAD' }
          ]
          probes: [
            {
              // CUDA initialisation and loading a base model can take minutes: allow 5 before liveness counts.
              type: 'Startup'
              httpGet: {
                path: '/healthz'
                port: port
              }
              initialDelaySeconds: 5
              periodSeconds: 10
              failureThreshold: 30
            }
            {
              type: 'Liveness'
              httpGet: {
                path: '/healthz'
                port: port
              }
              periodSeconds: 30
              failureThreshold: 3
            }
            {
              type: 'Readiness'
              httpGet: {
                path: '/readyz'
                port: port
              }
              periodSeconds: 10
              failureThreshold: 3
            }
          ]
        }
      ]
      scale: {
        minReplicas: 0
        maxReplicas: maxReplicas
        cooldownPeriod: cooldownSeconds
        rules: [
          {
            name: 'http'
            http: {
              metadata: {
                concurrentRequests: '20'
              }
            }
          }
        ]
      }
    }
  }
}

output name string = trainer.name
@description('Internal URL, resolvable only inside the Container Apps environment.')
output url string = 'https://${trainer.properties.configuration.ingress.fqdn}'
