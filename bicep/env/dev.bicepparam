// dev: a T4 GPU, everything scales to zero, small limits, short retention.
// Deploy with `infra/scripts/deploy.sh dev`; it sets the FLM_* variables read below.
using '../main.bicep'

param environmentName = 'dev'
param gpuProfileType = 'Consumption-GPU-NC8as-T4'
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

// NC8as-T4 serverless GPU: 8 vCPU, 56 GiB and one 16 GB T4 per replica.
param trainerCpu = 8
param trainerMemory = '56Gi'
param trainerMaxReplicas = 1
param trainerCooldownSeconds = 600
// A 16 GB T4 cannot LoRA-train a base above ~3B parameters in BF16: those train QLoRA (NF4 base) unless a job says otherwise.
param trainerQuantizeAboveParameters = 3000000000
param inferenceCpu = 8
param inferenceMemory = '56Gi'
param inferenceMinReplicas = 0
param inferenceMaxReplicas = 1

param pipelineMaxInstances = 10
param pipelineInstanceMemoryMB = 2048

param storageSku = 'Standard_LRS'
param storageRetentionDays = 7
param registrySku = 'Basic'
param logRetentionDays = 30
