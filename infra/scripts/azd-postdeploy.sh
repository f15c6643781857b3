#!/usr/bin/env bash
# azd postdeploy hook (azure.yaml): once the pipeline code runs, provision again with the Event Grid subscription
# that feeds training-data uploads to its blob trigger. azd exports its environment (AZURE_RESOURCE_GROUP,
# AZURE_ENV_NAME, SERVICE_*_IMAGE_NAME, ...), which bicep/main.bicepparam reads. Needs `az login` as well as azd's.
set -euo pipefail
cd "$(dirname "$0")/../.."
: "${AZURE_RESOURCE_GROUP:?run through azd (azd up / azd deploy)}"
FLM_SUBSCRIBE_BLOB_EVENTS=true az deployment group create -g "$AZURE_RESOURCE_GROUP" \
  -n "flm-${AZURE_ENV_NAME:-azd}-blob-events" --parameters bicep/main.bicepparam --output none
echo "training-data uploads now start the pipeline"
