// Parameters for `azd up` (azure.yaml: infra path bicep, module main). azd exports its environment's values
// (AZURE_ENV_NAME, AZURE_LOCATION, SERVICE_*_IMAGE_NAME after a deploy) before it compiles this file. Sizes are
// main.bicep's defaults, i.e. dev's; set FLM_GPU_PROFILE=Consumption-GPU-NC24-A100 for an A100
// (`azd env set FLM_GPU_PROFILE ...`), or use infra/scripts/deploy.sh prod for the prod profile.
using 'main.bicep'

param environmentName = readEnvironmentVariable('AZURE_ENV_NAME', 'dev')
param location = readEnvironmentVariable('AZURE_LOCATION', 'westus3')
param gpuProfileType = readEnvironmentVariable('FLM_GPU_PROFILE', 'Consumption-GPU-NC8as-T4')
param modelName = readEnvironmentVariable('FLM_MODEL_NAME', 'customer-service')
// merged, adapter (the inference app then serves the base with every adapter published for it) or both.
param publish = readEnvironmentVariable('FLM_PUBLISH', 'merged')

// Keep the images azd deployed last time when it provisions again; empty on the first `azd up`.
param trainerImage = readEnvironmentVariable('SERVICE_TRAINER_IMAGE_NAME', '')
param inferenceImage = readEnvironmentVariable('SERVICE_INFERENCE_IMAGE_NAME', '')

// azure.yaml's postdeploy hook provisions again with this set, once the pipeline code is running.
param subscribeBlobEvents = bool(readEnvironmentVariable('FLM_SUBSCRIBE_BLOB_EVENTS', 'false'))

// azd sets these to the signed-in user: they may upload training data and read results.
param operatorPrincipalId = readEnvironmentVariable('AZURE_PRINCIPAL_ID', '')
param operatorPrincipalType = readEnvironmentVariable('AZURE_PRINCIPAL_TYPE', 'User')

// The pipeline's credential for the trainer: the preprovision hook sets the app registration's client id; without
// one the postdeploy hook stores an API key in Key Vault and sets FLM_TRAINER_API_KEY_STORED.
param trainerAuthAudience = readEnvironmentVariable('FLM_TRAINER_AUTH_AUDIENCE', '')
param trainerApiKeyStored = bool(readEnvironmentVariable('FLM_TRAINER_API_KEY_STORED', 'false'))
