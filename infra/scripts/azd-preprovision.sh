#!/usr/bin/env bash
# azd preprovision hook (azure.yaml): the trainer's Entra app registration, created or reused, whose client id
# bicep/main.bicepparam reads as FLM_TRAINER_AUTH_AUDIENCE. Without the rights to create one, the deployment
# falls back to an API key in Key Vault, which the postdeploy hook stores. Needs `az login` as well as azd's.
set -euo pipefail
cd "$(dirname "$0")/../.."
. infra/scripts/lib/trainer-auth.sh
: "${AZURE_RESOURCE_GROUP:?run through azd (azd up / azd provision)}"
if [ -n "${FLM_TRAINER_AUTH_AUDIENCE:-}" ]; then
  echo "trainer auth: Entra ID, app registration $FLM_TRAINER_AUTH_AUDIENCE"
elif audience=$(trainer_app_registration "${AZURE_ENV_NAME:-azd}" "$AZURE_RESOURCE_GROUP"); then
  azd env set FLM_TRAINER_AUTH_AUDIENCE "$audience"
  echo "trainer auth: Entra ID, app registration $audience"
else
  echo "trainer auth: no app registration could be created (directory rights); using an API key in Key Vault" >&2
fi
