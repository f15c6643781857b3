// The trainer (src/FunctionsLlm.Trainer, ASP.NET Core): a container app on the GPU profile that runs train,
// merge and evaluate jobs behind PUT/GET/DELETE /jobs/{id}. Its environment is internal (no public IP), so its
// "external" ingress is reachable from the virtual network only: the pipeline's VNet integration subnet, through
// the private DNS zone. Every /jobs call needs the pipeline's credential: an Entra ID token for the trainer's app
// registration from the pipeline's identity, or (without an app registration) the API key in Key Vault. It scales
// to zero between runs: the HTTP rule wakes it for a PUT, and the blob rule keeps one replica per unfinished job
// (checkpoints/_active/{id}, one marker each) up to maxReplicas. Replicas share the job state in blob; the one
// holding a job's lease runs it, and another takes the job over when that one dies.

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

@description('Upper bound of replicas (one GPU and at most one job each): jobs run side by side up to this many.')
@minValue(1)
param maxReplicas int

@description('Seconds without requests before scaling to zero; the pipeline polls job status more often than this.')
param cooldownSeconds int

@description('A train job that does not set hyperparameters.quantize gets an NF4 base (QLoRA) when its base has more parameters than this; 0: never.')
param quantizeAboveParameters int

@description('Blob service endpoint of the storage account (https://{account}.blob.core.windows.net/).')
param storageBlobUri string

@description('Name of the storage account, for the scale rule that counts unfinished jobs.')
param storageAccountName string

@description('Application Insights connection string (local auth off: the identity sends telemetry).')
param appInsightsConnectionString string

@description('Client id of the trainer\'s Entra app registration (the token audience); empty: API key mode.')
param authAudience string

@description('Client id of the only identity whose tokens are accepted: the pipeline\'s.')
param allowedCallerClientId string

@description('API key mode: the Key Vault secret URI of the key (deploy.sh stores it); empty until it exists.')
param apiKeySecretUri string

// ASP.NET Core's port in the trainer image (ASPNETCORE_HTTP_PORTS in infra/docker/trainer.Dockerfile).
var port = 8080
// The host waits up to 60 s (ShutdownTimeout in TrainerStartup) for a running job to write its checkpoint on
// SIGTERM; Container Apps must not SIGKILL before that.
var terminationGracePeriodSeconds = 120
var apiKeySecretName = 'trainer-api-key'
var entraSettings = empty(authAudience) ? [] : [
  { name: 'FLM_TRAINER_AUTH_TENANT_ID', value: tenant().tenantId }
  { name: 'FLM_TRAINER_AUTH_AUDIENCE', value: authAudience }
  { name: 'FLM_TRAINER_AUTH_ALLOWED_CALLERS', value: allowedCallerClientId }
]
var apiKeySettings = empty(apiKeySecretUri) ? [] : [
  { name: 'FLM_TRAINER_API_KEY', secretRef: apiKeySecretName }
]
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
        // In an internal environment "external" means the whole virtual network; false would mean the
        // environment only, which the pipeline (outside it) cannot reach.
        external: true
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
      // Read from Key Vault with the trainer's identity; the value never appears in the template.
      secrets: empty(apiKeySecretUri) ? [] : [
        {
          name: apiKeySecretName
          keyVaultUrl: apiKeySecretUri
          identity: identityId
        }
      ]
    }
    template: {
      terminationGracePeriodSeconds: terminationGracePeriodSeconds
      containers: [
        {
          name: 'trainer'
          image: empty(image) ? placeholderImage : image
          resources: {
            cpu: cpu
            memory: memory
          }
          env: concat([
            { name: 'AZURE_CLIENT_ID', value: identityClientId }
            { name: 'FLM_STORAGE_BLOB_URI', value: storageBlobUri }
            { name: 'APPLICATIONINSIGHTS_CONNECTION_STRING', value: appInsightsConnectionString }
            { name: 'APPLICATIONINSIGHTS_AUTHENTICATION_STRING', value: 'ClientId=${identityClientId};Authorization=AAD' }
            { name: 'FLM_TRAINER_QUANTIZE_ABOVE_PARAMETERS', value: string(quantizeAboveParameters) }
          ], entraSettings, apiKeySettings)
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
          {
            // KEDA's azure-blob scaler: a replica per unfinished job's marker, read with the trainer's identity.
            name: 'unfinished-jobs'
            custom: {
              type: 'azure-blob'
              metadata: {
                accountName: storageAccountName
                blobContainerName: 'checkpoints'
                blobPrefix: '_active/'
                blobCount: '1'
                activationBlobCount: '0'
              }
              identity: identityId
            }
          }
        ]
      }
    }
  }
}

output name string = trainer.name
@description('https://{app}.{environment default domain}: resolvable only inside the virtual network (private DNS zone).')
output url string = 'https://${trainer.properties.configuration.ingress.fqdn}'
