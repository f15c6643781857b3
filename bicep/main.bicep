// FunctionsLlm in one resource group: storage, monitoring, identities and their roles, the container registry,
// the pipeline function app (Flex Consumption) fed by Event Grid, and a Container Apps environment whose GPU
// profile runs the trainer and the inference function app. See infra/README.md for the deployment steps.
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
  containerEnvironment: '${namePrefix}-env'
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
  }
  dependsOn: [storage, registry, monitoring, identities]
}

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

module trainer 'modules/trainerApp.bicep' = {
  name: 'trainer'
  params: {
    location: location
    tags: allTags
    name: names.trainer
    environmentId: containerEnvironment.outputs.id
    workloadProfileName: containerEnvironment.outputs.gpuProfileName
    identityId: identities.outputs.trainerId
    identityClientId: identities.outputs.trainerClientId
    registryLoginServer: registry.outputs.loginServer
    image: trainerImage
    cpu: trainerCpu
    memory: trainerMemory
    maxReplicas: trainerMaxReplicas
    cooldownSeconds: trainerCooldownSeconds
    storageBlobUri: storage.outputs.blobEndpoint
    appInsightsConnectionString: monitoring.outputs.appInsightsConnectionString
  }
  // The image pull needs AcrPull, and the first job needs its blob roles.
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
    modelName: modelName
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
    storageBlobUri: storage.outputs.blobEndpoint
    // The trainer's environment-internal URL: not reachable from Flex Consumption yet (infra/README.md,
    // "Known limitation").
    trainerUrl: trainer.outputs.url
    appInsightsConnectionString: monitoring.outputs.appInsightsConnectionString
  }
  // The host starts with its storage identity: the Blob/Queue/Table roles must exist first.
  dependsOn: [access]
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
output FLM_BLOB_EVENTS_TOPIC string = blobEvents.outputs.name
output FLM_MODEL_NAME string = modelName
