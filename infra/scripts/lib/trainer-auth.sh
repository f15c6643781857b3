# Sourced by deploy.sh and the azd hooks: how the pipeline proves itself to the trainer.
#
# Entra ID (preferred): an app registration per environment is the trainer's token audience; the pipeline's
# managed identity asks for a token for it and the trainer admits only that identity. Bicep cannot create app
# registrations offline (the Microsoft Graph extension is fetched from a registry at build time), so this does,
# idempotently. Without directory rights to create one, the fallback is a random API key kept in Key Vault.

# Prints the client id of "FunctionsLlm trainer (ENV, RESOURCE_GROUP)", creating the registration, its
# application ID URI (api://CLIENT_ID) and its service principal when missing. With FLM_DRY_RUN=true it only looks.
# Fails (status 1, nothing printed) when it may not create one.
trainer_app_registration() {
  local name="FunctionsLlm trainer ($1, $2)" app_id
  app_id=$(az ad app list --display-name "$name" --query '[0].appId' -o tsv 2>/dev/null) || return 1
  if [ -z "$app_id" ]; then
    [ "${FLM_DRY_RUN:-false}" = true ] && return 1
    app_id=$(az ad app create --display-name "$name" --sign-in-audience AzureADMyOrg --query appId -o tsv 2>/dev/null) || return 1
    [ -n "$app_id" ] || return 1
  fi
  if [ "${FLM_DRY_RUN:-false}" != true ]; then
    az ad app update --id "$app_id" --identifier-uris "api://$app_id" >/dev/null 2>&1 || return 1
    # Managed identities get tokens only for applications with a service principal in the tenant.
    az ad sp show --id "$app_id" --query id -o tsv >/dev/null 2>&1 \
      || az ad sp create --id "$app_id" --query id -o tsv >/dev/null 2>&1 || return 1
  fi
  echo "$app_id"
}

# True (status 0) when VAULT holds trainer-api-key. Shows only the secret's id, never its value.
trainer_api_key_stored() {
  [ -n "$1" ] && az keyvault secret show --vault-name "$1" -n trainer-api-key --query id -o tsv >/dev/null 2>&1
}

# Stores a random 256-bit key as trainer-api-key in VAULT unless one is there. The value goes through a private
# temporary file: never an argument, an output or a log line. Retries while the caller's new Key Vault Secrets
# Officer role propagates.
store_trainer_api_key() {
  local vault=$1 file attempt
  trainer_api_key_stored "$vault" && return 0
  file=$(umask 077 && mktemp)
  trap 'rm -f "$file"' RETURN
  head -c 32 /dev/urandom | base64 | tr -d '\n' > "$file"
  for attempt in 1 2 3 4 5 6 7 8 9 10; do
    az keyvault secret set --vault-name "$vault" -n trainer-api-key --file "$file" --output none 2>/dev/null && return 0
    echo "waiting for the Key Vault role assignment to apply ($attempt/10)" >&2
    sleep 15
  done
  echo "could not store trainer-api-key in $vault" >&2
  return 1
}
