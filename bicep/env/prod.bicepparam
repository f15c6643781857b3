// prod: an A100, one inference replica kept warm, zone-redundant storage, longer retention.
// Deploy with `infra/scripts/deploy.sh prod`; it sets the FLM_* variables read below.
using '../main.bicep'

param environmentName = 'prod'
param gpuProfileType = 'Consumption-GPU-NC24-A100'
param modelName = readEnvironmentVariable('FLM_MODEL_NAME', 'customer-service')
// merged, adapter (the inference app then serves the base with every adapter published for it) or both.
param publish = readEnvironmentVariable('FLM_PUBLISH', 'merged')

// Images and the blob-event subscription come from deploy.sh's later passes; empty/false on the first one.
param trainerImage = readEnvironmentVariable('FLM_TRAINER_IMAGE', '')
param inferenceImage = readEnvironmentVariable('FLM_INFERENCE_IMAGE', '')
param subscribeBlobEvents = bool(readEnvironmentVariable('FLM_SUBSCRIBE_BLOB_EVENTS', 'false'))
// Who may upload training data and read results (deploy.sh passes the signed-in user).
param operatorPrincipalId = readEnvironmentVariable('FLM_OPERATOR_PRINCIPAL_ID', '')
param operatorPrincipalType = readEnvironmentVariable('FLM_OPERATOR_PRINCIPAL_TYPE', 'User')
// The pipeline's credential for the trainer: deploy.sh creates or reuses the Entra app registration; without
// one it stores an API key in Key Vault and sets FLM_TRAINER_API_KEY_STORED.
param trainerAuthAudience = readEnvironmentVariable('FLM_TRAINER_AUTH_AUDIENCE', '')
param trainerApiKeyStored = bool(readEnvironmentVariable('FLM_TRAINER_API_KEY_STORED', 'false'))

// NC24-A100 serverless GPU: 24 vCPU, 220 GiB and one 80 GB A100 per replica.
param trainerCpu = 24
param trainerMemory = '220Gi'
// Two A100 replicas: the pipeline's training trials run side by side (a job per replica, owned through its lease).
param trainerMaxReplicas = 2
param trainerCooldownSeconds = 900
param inferenceCpu = 24
param inferenceMemory = '220Gi'
// A warm replica avoids a cold GPU start plus model load on the first request; it is billed while idle.
param inferenceMinReplicas = 1
param inferenceMaxReplicas = 4

param pipelineMaxInstances = 40
param pipelineInstanceMemoryMB = 4096

param storageSku = 'Standard_ZRS'
param storageRetentionDays = 30
param registrySku = 'Standard'
param logRetentionDays = 90
