#!/usr/bin/env bash
# azd postdeploy hook (azure.yaml): once the pipeline code runs, provision again with the Event Grid subscription
# that feeds training-data uploads to its blob trigger, and, in API key mode, with the key the hook has stored in
# Key Vault. azd exports its environment (AZURE_RESOURCE_GROUP, AZURE_ENV_NAME, SERVICE_*_IMAGE_NAME, the
# outputs of the last provision such as FLM_VAULT_NAME), which bicep/main.bicepparam reads. Needs `az login`.
set -euo pipefail
cd "$(dirname "$0")/../.."
. infra/scripts/lib/trainer-auth.sh
: "${AZURE_RESOURCE_GROUP:?run through azd (azd up / azd deploy)}"
if [ -n "${FLM_VAULT_NAME:-}" ]; then
  store_trainer_api_key "$FLM_VAULT_NAME"
  azd env set FLM_TRAINER_API_KEY_STORED true
  export FLM_TRAINER_API_KEY_STORED=true
fi
FLM_SUBSCRIBE_BLOB_EVENTS=true az deployment group create -g "$AZURE_RESOURCE_GROUP" \
  -n "flm-${AZURE_ENV_NAME:-azd}-blob-events" --parameters bicep/main.bicepparam --output none
echo "training-data uploads now start the pipeline"
