#!/usr/bin/env bash
# Runs every test on a fresh clone: restores .NET and npm packages, starts Azurite on 127.0.0.1 with a temporary
# data folder, runs `dotnet test`, and always stops Azurite by PID (TERM, then KILL).
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -x node_modules/.bin/azurite ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund --loglevel=error
fi
dotnet restore FunctionsLlm.sln --verbosity quiet
dotnet build FunctionsLlm.sln --configuration Release --no-restore --nologo --verbosity quiet

azurite_dir=$(mktemp -d -t flm-azurite.XXXXXX)
azurite_pid=""
stop_azurite() {
  if [ -n "$azurite_pid" ] && kill -0 "$azurite_pid" 2>/dev/null; then
    kill -TERM "$azurite_pid" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$azurite_pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$azurite_pid" 2>/dev/null || true
  fi
  rm -rf "$azurite_dir"
}
trap stop_azurite EXIT INT TERM

free_port() { node -e "const s=require('net').createServer();s.listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})"; }
blob_port=$(free_port); queue_port=$(free_port); table_port=$(free_port)
# Two accounts: the trainer tests get their own, since trainers sharing an account claim each other's jobs.
key="Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
AZURITE_ACCOUNTS="devstoreaccount1:$key;flmtrainertests:$key" node_modules/.bin/azurite --silent --skipApiVersionCheck --loose --location "$azurite_dir" \
  --blobHost 127.0.0.1 --blobPort "$blob_port" --queueHost 127.0.0.1 --queuePort "$queue_port" \
  --tableHost 127.0.0.1 --tablePort "$table_port" >"$azurite_dir.log" 2>&1 &
azurite_pid=$!

for i in $(seq 1 300); do
  if (exec 3<>"/dev/tcp/127.0.0.1/$blob_port") 2>/dev/null; then break; fi
  if ! kill -0 "$azurite_pid" 2>/dev/null; then echo "Azurite exited:"; cat "$azurite_dir.log"; exit 1; fi
  if [ "$i" = 300 ]; then echo "Azurite did not accept connections on 127.0.0.1:$blob_port within 30 s"; exit 1; fi
  sleep 0.1
done
rm -f "$azurite_dir.log"

connection() { echo "DefaultEndpointsProtocol=http;AccountName=$1;AccountKey=$key;BlobEndpoint=http://127.0.0.1:$blob_port/$1;QueueEndpoint=http://127.0.0.1:$queue_port/$1;TableEndpoint=http://127.0.0.1:$table_port/$1;"; }
export FLM_TEST_STORAGE_CONNECTION="$(connection devstoreaccount1)"
export FLM_TEST_TRAINER_STORAGE_CONNECTION="$(connection flmtrainertests)"

dotnet test FunctionsLlm.sln --configuration Release --no-build --nologo "$@"
