#!/usr/bin/env bash
# Deploys FunctionsLlm to Azure: infra/scripts/deploy.sh dev|prod [options]
#
# Prerequisites (checked below):
#   - Azure CLI 2.60+ signed in (`az login`; `az account set -s SUBSCRIPTION`), with Owner, or Contributor plus
#     User Access Administrator, on the subscription or the resource group: the templates create role assignments.
#   - The .NET 10 SDK and `zip`, to publish the pipeline function app.
#   - A region that offers both Flex Consumption and the environment's serverless GPU profile (T4 for dev, A100
#     for prod) and quota for it: `az functionapp list-flexconsumption-locations`,
#     `az containerapp env workload-profile list-supported -l REGION`.
#   - src/FunctionsLlm.Pipeline, src/FunctionsLlm.Trainer and src/FunctionsLlm.Inference. Until they exist, use
#     --infra-only: it provisions everything with placeholder images and no pipeline code.
# No Docker needed: images are built in the registry (az acr build). --local-docker builds and pushes with Docker.
#
# What it does, each step idempotent (run it again to roll out new code):
#   0. the trainer's caller credential: the Entra app registration "FunctionsLlm trainer (ENV, RG)", created or
#      reused (needs the right to create applications, e.g. Application Developer); without it, API key mode
#   1. resource group; Bicep deployment (bicep/main.bicep + bicep/env/ENV.bicepparam) keeping the current images;
#      in API key mode a random key is then stored in the environment's Key Vault, once
#   2. trainer and inference images built from infra/docker/*.Dockerfile and pushed to the registry
#   3. pipeline published (dotnet publish) and zip-deployed to the Flex Consumption app
#   4. Bicep deployment again with the new images and the Event Grid subscription (BlobCreated in training-data
#      → the pipeline's blob trigger), which needs the pipeline code running
set -euo pipefail
cd "$(dirname "$0")/../.."

usage() {
  cat <<'USAGE'
usage: infra/scripts/deploy.sh dev|prod [options]
  -g, --resource-group NAME   resource group (default: rg-flm-ENV, or $FLM_RESOURCE_GROUP)
  -l, --location REGION       region of a new resource group (default: westus3, or $FLM_LOCATION)
  -t, --tag TAG               image tag (default: git commit + UTC time)
      --infra-only            provision only: placeholder images, no pipeline code, no blob-event subscription
      --local-docker          build images with the local Docker daemon and push them, instead of az acr build
      --what-if               print the deployment plan (az deployment group what-if); change nothing
  -h, --help
USAGE
}

die() { echo "deploy.sh: $*" >&2; exit 1; }
step() { printf '\n==> %s\n' "$*"; }

[ $# -ge 1 ] || { usage; exit 2; }
case "$1" in
  dev|prod) env_name=$1 ;;
  -h|--help) usage; exit 0 ;;
  *) usage; exit 2 ;;
esac
shift

resource_group=${FLM_RESOURCE_GROUP:-rg-flm-$env_name}
location=${FLM_LOCATION:-westus3}
tag=""
infra_only=false
local_docker=false
what_if=false
while [ $# -gt 0 ]; do
  case "$1" in
    -g|--resource-group) resource_group=${2:?}; shift 2 ;;
    -l|--location) location=${2:?}; shift 2 ;;
    -t|--tag) tag=${2:?}; shift 2 ;;
    --infra-only) infra_only=true; shift ;;
    --local-docker) local_docker=true; shift ;;
    --what-if) what_if=true; shift ;;
    -h|--help) usage; exit 0 ;;
    *) usage; exit 2 ;;
  esac
done

# ---- prerequisites ---------------------------------------------------------------------------------------------
command -v az >/dev/null || die "the Azure CLI (az) is required: https://learn.microsoft.com/cli/azure/install-azure-cli"
az account show --query id -o tsv >/dev/null 2>&1 || die "not signed in: run 'az login' (and 'az account set -s SUBSCRIPTION')"
if [ "$infra_only" = false ] && [ "$what_if" = false ]; then
  for project in Pipeline Trainer Inference; do
    [ -d "src/FunctionsLlm.$project" ] || die "src/FunctionsLlm.$project does not exist yet; run with --infra-only to provision without code"
  done
  command -v dotnet >/dev/null || die "the .NET 10 SDK (dotnet) is required to publish the pipeline"
  command -v zip >/dev/null || die "zip is required to package the pipeline"
  if [ "$local_docker" = true ]; then command -v docker >/dev/null || die "--local-docker needs docker"; fi
fi
if [ -z "$tag" ]; then
  tag="$(git rev-parse --short HEAD 2>/dev/null || echo local)-$(date -u +%Y%m%d%H%M%S)"
fi

# The signed-in user may upload training data and read results (a service principal in CI: set both variables).
if [ -z "${FLM_OPERATOR_PRINCIPAL_ID:-}" ]; then
  FLM_OPERATOR_PRINCIPAL_ID=$(az ad signed-in-user show --query id -o tsv 2>/dev/null || true)
  FLM_OPERATOR_PRINCIPAL_TYPE=User
fi
export FLM_OPERATOR_PRINCIPAL_ID FLM_OPERATOR_PRINCIPAL_TYPE=${FLM_OPERATOR_PRINCIPAL_TYPE:-User}

. infra/scripts/lib/trainer-auth.sh
deployment="flm-$env_name"
output() { az deployment group show -g "$resource_group" -n "$deployment" --query "properties.outputs.$1.value" -o tsv; }
current_image() {
  az containerapp show -g "$resource_group" -n "$1" --query 'properties.template.containers[0].image' -o tsv 2>/dev/null \
    | grep -v '^mcr.microsoft.com/' || true
}
deploy_bicep() {
  # bicep/env/$env_name.bicepparam reads FLM_TRAINER_IMAGE, FLM_INFERENCE_IMAGE, FLM_SUBSCRIBE_BLOB_EVENTS,
  # FLM_TRAINER_AUTH_AUDIENCE, FLM_TRAINER_API_KEY_STORED and FLM_OPERATOR_PRINCIPAL_* from the environment.
  az deployment group create -g "$resource_group" -n "$deployment" \
    --parameters "bicep/env/$env_name.bicepparam" --output none
}

# ---- 0. the trainer's caller credential ------------------------------------------------------------------------
step "trainer authentication"
export FLM_TRAINER_AUTH_AUDIENCE FLM_TRAINER_API_KEY_STORED=false
if [ -n "${FLM_TRAINER_AUTH_AUDIENCE:-}" ]; then
  echo "Entra ID: app registration $FLM_TRAINER_AUTH_AUDIENCE (FLM_TRAINER_AUTH_AUDIENCE)"
elif FLM_TRAINER_AUTH_AUDIENCE=$(FLM_DRY_RUN=$what_if trainer_app_registration "$env_name" "$resource_group"); then
  echo "Entra ID: app registration $FLM_TRAINER_AUTH_AUDIENCE"
elif [ "$what_if" = true ]; then
  # The real run creates it; the plan shows this stand-in where its client id will be.
  FLM_TRAINER_AUTH_AUDIENCE="app-registration-created-by-deploy"
  echo "Entra ID: the app registration \"FunctionsLlm trainer ($env_name, $resource_group)\" would be created"
else
  FLM_TRAINER_AUTH_AUDIENCE=""
  echo "API key in Key Vault: no app registration could be created (needs e.g. the Application Developer role)"
  vault=$(output FLM_VAULT_NAME 2>/dev/null || true)
  if trainer_api_key_stored "$vault"; then FLM_TRAINER_API_KEY_STORED=true; fi
fi

# Keep the images a previous run deployed; the first run starts the apps from public placeholders.
export FLM_TRAINER_IMAGE FLM_INFERENCE_IMAGE FLM_SUBSCRIBE_BLOB_EVENTS=false
FLM_TRAINER_IMAGE=$(current_image "flm-$env_name-trainer")
FLM_INFERENCE_IMAGE=$(current_image "flm-$env_name-inference")

if [ "$what_if" = true ]; then
  step "what-if (bicep/main.bicep with bicep/env/$env_name.bicepparam): nothing is changed"
  if [ "$(az group exists -n "$resource_group")" != true ]; then
    echo "resource group $resource_group does not exist: the deployment would create it ($location) and everything below"
    exit 0
  fi
  [ "$infra_only" = true ] || FLM_SUBSCRIBE_BLOB_EVENTS=true
  az deployment group what-if -g "$resource_group" -n "$deployment" --parameters "bicep/env/$env_name.bicepparam"
  exit 0
fi

# ---- 1. infrastructure -----------------------------------------------------------------------------------------
step "resource group $resource_group ($location)"
az group create -n "$resource_group" -l "$location" --tags application=FunctionsLlm "azd-env-name=$env_name" --output none

step "infrastructure (bicep/main.bicep with bicep/env/$env_name.bicepparam)"
deploy_bicep

if [ -z "$FLM_TRAINER_AUTH_AUDIENCE" ] && [ "$FLM_TRAINER_API_KEY_STORED" = false ]; then
  step "trainer API key → Key Vault $(output FLM_VAULT_NAME)"
  store_trainer_api_key "$(output FLM_VAULT_NAME)"
  FLM_TRAINER_API_KEY_STORED=true
  # Both apps read the key from the vault from now on.
  [ "$infra_only" = false ] || deploy_bicep
fi

registry=$(output AZURE_CONTAINER_REGISTRY_NAME)
login_server=$(output AZURE_CONTAINER_REGISTRY_ENDPOINT)
pipeline_app=$(output FLM_PIPELINE_APP_NAME)

if [ "$infra_only" = false ]; then
  # ---- 2. images ---------------------------------------------------------------------------------------------
  for image in trainer inference; do
    step "image $login_server/flm/$image:$tag"
    if [ "$local_docker" = true ]; then
      az acr login -n "$registry"
      docker build -f "infra/docker/$image.Dockerfile" -t "$login_server/flm/$image:$tag" .
      docker push "$login_server/flm/$image:$tag"
    else
      az acr build -r "$registry" -t "flm/$image:$tag" -f "infra/docker/$image.Dockerfile" . --output none
    fi
  done
  FLM_TRAINER_IMAGE="$login_server/flm/trainer:$tag"
  FLM_INFERENCE_IMAGE="$login_server/flm/inference:$tag"

  # ---- 3. pipeline code --------------------------------------------------------------------------------------
  step "pipeline code → $pipeline_app"
  publish_dir=out/deploy/pipeline
  rm -rf "$publish_dir" out/deploy/pipeline.zip
  dotnet publish src/FunctionsLlm.Pipeline -c Release -o "$publish_dir" --nologo -v q
  (cd "$publish_dir" && zip -qr ../pipeline.zip .)
  az functionapp deployment source config-zip -g "$resource_group" -n "$pipeline_app" --src out/deploy/pipeline.zip --output none

  # ---- 4. images + blob events -------------------------------------------------------------------------------
  step "apps on the new images; training-data events → pipeline"
  FLM_SUBSCRIBE_BLOB_EVENTS=true
  deploy_bicep
fi

step "done"
cat <<SUMMARY
  inference API     $(output FLM_INFERENCE_URL)
  pipeline app      $(output FLM_PIPELINE_URL)
  storage account   $(output FLM_STORAGE_ACCOUNT)
  registry          $login_server

Start a run by uploading training data:
  az storage blob upload --auth-mode login --account-name $(output FLM_STORAGE_ACCOUNT) \\
    -c training-data -f samples/customer-service.jsonl -n customer-service.jsonl
SUMMARY
