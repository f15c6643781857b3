// FunctionsLlm in one resource group: storage, monitoring, identities and their roles, the container registry,
// the pipeline function app (Flex Consumption, VNet-integrated) fed by Event Grid, the trainer on the GPU profile
// of an internal Container Apps environment in the same virtual network (private DNS, no public endpoint), and
// the inference function app on the GPU profile of a second, public environment. The pipeline calls the trainer
// with an Entra ID token (trainerAuthAudience) or, without an app registration, an API key kept in Key Vault.
// See infra/README.md for the topology and the deployment steps.
//
//   az deployment group create -g RG -f bicep/main.bicep -p bicep/env/dev.bicepparam     (infra/scripts/deploy.sh)

targetScope = 'resourceGroup'

@description('Environment name (dev, prod, or an azd environment name); part of every resource name.')
@minLength(2)
@maxLength(10)
param environmentName string

@description('Region of every resource; it must offer Flex Consumption and the chosen serverless GPU profile.')
param location string = resourceGroup().location

@description('Serverless GPU profile the trainer and the inference app run on.')
@allowed(['Consumption-GPU-NC8as-T4', 'Consumption-GPU-NC24-A100'])
param gpuProfileType string = 'Consumption-GPU-NC8as-T4'

@description('Model name the pipeline publishes under models/{name}/ and the inference app serves.')
param modelName string = 'customer-service'

@description('Trainer image (registry/repository:tag); empty deploys a placeholder until the image is pushed.')
param trainerImage string = ''

@description('Inference image (registry/repository:tag); empty deploys a placeholder until the image is pushed.')
param inferenceImage string = ''

@description('Create the Event Grid subscription to the pipeline\'s blob trigger. Needs the pipeline code deployed first (deploy.sh does both).')
param subscribeBlobEvents bool = false

@description('Name of the blob-triggered function in src/FunctionsLlm.Pipeline.')
param blobTriggerFunctionName string = 'TrainingDataUploaded'

@description('Object id of whoever uploads training data (deploy.sh: the signed-in user; azd: AZURE_PRINCIPAL_ID). Empty: nobody.')
param operatorPrincipalId string = ''

@allowed(['User', 'Group', 'ServicePrincipal'])
param operatorPrincipalType string = 'User'

@description('Whole vCPUs and memory per trainer replica.')
param trainerCpu int = 8
param trainerMemory string = '56Gi'
@minValue(1)
param trainerMaxReplicas int = 1

@description('Seconds the trainer stays up without requests (the pipeline polls job status more often).')
param trainerCooldownSeconds int = 900

@description('Train jobs that leave hyperparameters.quantize unset train QLoRA (NF4 base) when the base has more parameters than this; 0: never (GPUs that hold the base in BF16).')
@minValue(0)
param trainerQuantizeAboveParameters int = 0

@description('What a pipeline run publishes (FLM_PUBLISH): merged (models/{modelName}/current.json), adapter (models/base/adapters/{modelName}/current.json, served unmerged over the base) or both. With adapter the inference app serves the base and every adapter published for it (model "base" or "base:{name}" / "{name}"); otherwise it serves the merged model.')
@allowed(['merged', 'adapter', 'both'])
param publish string = 'merged'

@description('Files a pipeline run publishes beside the merged model (FLM_EXPORT), comma-separated: gguf-q8_0 writes models/{modelName}/{version}/model-q8_0.gguf for llama.cpp and Ollama; also gguf-f16, gguf-bf16, gguf-f32. Empty: none.')
param export string = ''

@description('Whole vCPUs and memory per inference replica.')
param inferenceCpu int = 8
param inferenceMemory string = '56Gi'
@minValue(0)
param inferenceMinReplicas int = 0
@minValue(1)
param inferenceMaxReplicas int = 1

@minValue(1)
param pipelineMaxInstances int = 10
@allowed([512, 2048, 4096])
param pipelineInstanceMemoryMB int = 2048

@description('Client id of the trainer\'s Entra app registration (deploy.sh and the azd preprovision hook create or reuse it). Empty: API key mode (Key Vault).')
param trainerAuthAudience string = ''

@description('API key mode: true once deploy.sh has stored trainer-api-key in the vault; until then the apps do not reference it.')
param trainerApiKeyStored bool = false

@description('Address space of the virtual network and its two subnets (pipeline VNet integration, trainer environment).')
param vnetAddressPrefix string = '10.40.0.0/16'
param pipelineSubnetPrefix string = '10.40.0.0/24'
param trainerSubnetPrefix string = '10.40.2.0/23'

@allowed(['Standard_LRS', 'Standard_ZRS', 'Standard_GRS', 'Standard_GZRS'])
param storageSku string = 'Standard_LRS'
@minValue(1)
param storageRetentionDays int = 7
@allowed(['Basic', 'Standard', 'Premium'])
param registrySku string = 'Basic'
@minValue(30)
param logRetentionDays int = 30

param tags object = {}

// Resource names allow lowercase letters, digits and hyphens; storage and registry names no hyphens either.
var namePrefix = 'flm-${replace(toLower(environmentName), '_', '-')}'
var compactName = replace(replace(toLower(environmentName), '-', ''), '_', '')
// Names that must be unique across Azure (storage, registry, function app host name) end with this token.
var token = uniqueString(subscription().id, resourceGroup().id, environmentName)
var allTags = union(tags, { 'azd-env-name': environmentName, application: 'FunctionsLlm' })
var deploymentContainerName = 'app-package-pipeline'
var apiKeyMode = empty(trainerAuthAudience)

// Every name in one place. Modules that refer to another module's resource get its name from here (not from
// that module's outputs), so what-if can predict them; dependsOn keeps the order.
var names = {
  workspace: '${namePrefix}-logs'
  appInsights: '${namePrefix}-appi'
  storage: take('stflm${compactName}${token}', 24)
  registry: take('crflm${compactName}${token}', 50)
  pipelineIdentity: 'id-${namePrefix}-pipeline'
  trainerIdentity: 'id-${namePrefix}-trainer'
  inferenceIdentity: 'id-${namePrefix}-inference'
  // The inference app's (public) environment keeps the name it had before the trainer moved to its own.
  containerEnvironment: '${namePrefix}-env'
  trainerEnvironment: '${namePrefix}-trainer-env'
  network: '${namePrefix}-vnet'
  keyVault: take('kvflm${compactName}${token}', 24)
  trainer: '${namePrefix}-trainer'
  inference: '${namePrefix}-inference'
  pipelinePlan: '${namePrefix}-pipeline-plan'
  pipeline: '${namePrefix}-pipeline-${take(token, 8)}'
  blobEventsTopic: '${namePrefix}-blob-events'
}

module monitoring 'modules/monitoring.bicep' = {
  name: 'monitoring'
  params: {
    location: location
    tags: allTags
    workspaceName: names.workspace
    appInsightsName: names.appInsights
    retentionInDays: logRetentionDays
  }
}

module storage 'modules/storage.bicep' = {
  name: 'storage'
  params: {
    location: location
    tags: allTags
    name: names.storage
    workspaceId: monitoring.outputs.workspaceId
    skuName: storageSku
    retentionDays: storageRetentionDays
    deploymentContainerName: deploymentContainerName
  }
}

module identities 'modules/identities.bicep' = {
  name: 'identities'
  params: {
    location: location
    tags: allTags
    pipelineName: names.pipelineIdentity
    trainerName: names.trainerIdentity
    inferenceName: names.inferenceIdentity
  }
}

module registry 'modules/registry.bicep' = {
  name: 'registry'
  params: {
    location: location
    tags: allTags
    name: names.registry
    workspaceId: monitoring.outputs.workspaceId
    skuName: registrySku
  }
}

module network 'modules/network.bicep' = {
  name: 'network'
  params: {
    location: location
    tags: allTags
    name: names.network
    addressPrefix: vnetAddressPrefix
    pipelineSubnetPrefix: pipelineSubnetPrefix
    trainerSubnetPrefix: trainerSubnetPrefix
  }
}

module keyVault 'modules/keyVault.bicep' = if (apiKeyMode) {
  name: 'keyVault'
  params: {
    location: location
    tags: allTags
    name: names.keyVault
    workspaceId: monitoring.outputs.workspaceId
  }
}

module access 'modules/access.bicep' = {
  name: 'access'
  params: {
    storageAccountName: names.storage
    registryName: names.registry
    appInsightsName: names.appInsights
    pipelineIdentityName: names.pipelineIdentity
    trainerIdentityName: names.trainerIdentity
    inferenceIdentityName: names.inferenceIdentity
    operatorPrincipalId: operatorPrincipalId
    operatorPrincipalType: operatorPrincipalType
    keyVaultName: apiKeyMode ? names.keyVault : ''
  }
  dependsOn: [storage, registry, monitoring, identities, keyVault]
}

// Public: the inference app's HTTPS endpoint (function keys).
module containerEnvironment 'modules/containerEnvironment.bicep' = {
  name: 'containerEnvironment'
  params: {
    location: location
    tags: allTags
    name: names.containerEnvironment
    workspaceId: monitoring.outputs.workspaceId
    gpuProfileType: gpuProfileType
  }
}

// Internal, in the virtual network: the trainer, reachable from the pipeline's subnet only.
module trainerEnvironment 'modules/containerEnvironment.bicep' = {
  name: 'trainerEnvironment'
  params: {
    location: location
    tags: allTags
    name: names.trainerEnvironment
    workspaceId: monitoring.outputs.workspaceId
    gpuProfileType: gpuProfileType
    infrastructureSubnetId: network.outputs.trainerSubnetId
    internal: true
  }
}

module trainerDns 'modules/privateDns.bicep' = {
  name: 'trainerDns'
  params: {
    tags: allTags
    // The zone is named after the environment's default domain, which exists only once the environment does:
    // what-if cannot predict this module's resources, and nothing else can name them.
    #disable-next-line what-if-short-circuiting
    zoneName: trainerEnvironment.outputs.defaultDomain
    staticIp: trainerEnvironment.outputs.staticIp
    virtualNetworkId: network.outputs.id
  }
}

module trainer 'modules/trainerApp.bicep' = {
  name: 'trainer'
  params: {
    location: location
    tags: allTags
    name: names.trainer
    environmentId: trainerEnvironment.outputs.id
    workloadProfileName: trainerEnvironment.outputs.gpuProfileName
    identityId: identities.outputs.trainerId
    identityClientId: identities.outputs.trainerClientId
    registryLoginServer: registry.outputs.loginServer
    image: trainerImage
    cpu: trainerCpu
    memory: trainerMemory
    maxReplicas: trainerMaxReplicas
    cooldownSeconds: trainerCooldownSeconds
    quantizeAboveParameters: trainerQuantizeAboveParameters
    storageBlobUri: storage.outputs.blobEndpoint
    storageAccountName: storage.outputs.name
    appInsightsConnectionString: monitoring.outputs.appInsightsConnectionString
    authAudience: trainerAuthAudience
    allowedCallerClientId: identities.outputs.pipelineClientId
    apiKeySecretUri: apiKeyMode && trainerApiKeyStored ? keyVault!.outputs.apiKeySecretUri : ''
  }
  // The image pull needs AcrPull, the first job its blob roles, the API key (if any) Key Vault Secrets User.
  dependsOn: [access]
}

module inference 'modules/inferenceApp.bicep' = {
  name: 'inference'
  params: {
    location: location
    tags: allTags
    name: names.inference
    environmentId: containerEnvironment.outputs.id
    workloadProfileName: containerEnvironment.outputs.gpuProfileName
    identityId: identities.outputs.inferenceId
    identityClientId: identities.outputs.inferenceClientId
    registryLoginServer: registry.outputs.loginServer
    storageAccountName: storage.outputs.name
    image: inferenceImage
    cpu: inferenceCpu
    memory: inferenceMemory
    minReplicas: inferenceMinReplicas
    maxReplicas: inferenceMaxReplicas
    // The pipeline's default base prefix: the adapters it publishes are under models/base/adapters/.
    modelName: publish == 'adapter' ? '' : modelName
    baseModelPrefix: publish == 'adapter' ? 'base/' : ''
    storageBlobUri: storage.outputs.blobEndpoint
    appInsightsConnectionString: monitoring.outputs.appInsightsConnectionString
  }
  dependsOn: [access]
}

module pipeline 'modules/pipelineApp.bicep' = {
  name: 'pipeline'
  params: {
    location: location
    tags: allTags
    planName: names.pipelinePlan
    name: names.pipeline
    identityId: identities.outputs.pipelineId
    identityClientId: identities.outputs.pipelineClientId
    storageAccountName: storage.outputs.name
    workspaceId: monitoring.outputs.workspaceId
    deploymentContainerUrl: storage.outputs.deploymentContainerUrl
    maximumInstanceCount: pipelineMaxInstances
    instanceMemoryMB: pipelineInstanceMemoryMB
    modelName: modelName
    publish: publish
    export: export
    storageBlobUri: storage.outputs.blobEndpoint
    // Resolves to the trainer environment's private IP through trainerDns, over the VNet integration subnet.
    trainerUrl: trainer.outputs.url
    subnetId: network.outputs.pipelineSubnetId
    trainerAuthAudience: trainerAuthAudience
    trainerApiKeySecretUri: apiKeyMode && trainerApiKeyStored ? keyVault!.outputs.apiKeySecretUri : ''
    appInsightsConnectionString: monitoring.outputs.appInsightsConnectionString
  }
  // The host starts with its storage identity: the Blob/Queue/Table roles must exist first; the trainer's
  // name must resolve when the first run starts.
  dependsOn: [access, trainerDns]
}

module blobEvents 'modules/blobEvents.bicep' = {
  name: 'blobEvents'
  params: {
    location: location
    tags: allTags
    name: names.blobEventsTopic
    storageAccountName: names.storage
    workspaceId: monitoring.outputs.workspaceId
  }
  dependsOn: [storage]
}

module blobEventSubscription 'modules/blobEventSubscription.bicep' = if (subscribeBlobEvents) {
  name: 'blobEventSubscription'
  params: {
    topicName: names.blobEventsTopic
    pipelineAppName: names.pipeline
    functionName: blobTriggerFunctionName
    containerName: 'training-data'
  }
  dependsOn: [blobEvents, pipeline]
}

// What deploy.sh and azd need; names and public endpoints only, never keys.
output AZURE_CONTAINER_REGISTRY_ENDPOINT string = registry.outputs.loginServer
output AZURE_CONTAINER_REGISTRY_NAME string = registry.outputs.name
output FLM_STORAGE_ACCOUNT string = storage.outputs.name
output FLM_STORAGE_BLOB_URI string = storage.outputs.blobEndpoint
output FLM_PIPELINE_APP_NAME string = pipeline.outputs.name
output FLM_PIPELINE_URL string = 'https://${pipeline.outputs.hostName}'
output FLM_TRAINER_APP_NAME string = trainer.outputs.name
output FLM_TRAINER_URL string = trainer.outputs.url
output FLM_INFERENCE_APP_NAME string = inference.outputs.name
output FLM_INFERENCE_URL string = inference.outputs.url
output FLM_CONTAINER_ENVIRONMENT_NAME string = containerEnvironment.outputs.name
output FLM_TRAINER_ENVIRONMENT_NAME string = trainerEnvironment.outputs.name
output FLM_TRAINER_AUTH string = apiKeyMode ? 'apiKey' : 'entra'
output FLM_VAULT_NAME string = apiKeyMode ? names.keyVault : ''
output FLM_BLOB_EVENTS_TOPIC string = blobEvents.outputs.name
output FLM_MODEL_NAME string = modelName
