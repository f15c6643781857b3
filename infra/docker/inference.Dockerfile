# Inference image: src/FunctionsLlm.Inference (Azure Functions .NET isolated worker, HTTP) with CUDA TorchSharp,
# on the Azure Functions .NET isolated base image.
# Build context: the repository root.
#   az acr build -r REGISTRY -t flm/inference:TAG -f infra/docker/inference.Dockerfile .   (what deploy.sh runs)
#   docker build -f infra/docker/inference.Dockerfile -t flm-inference .
# The GPU driver comes from the host (NVIDIA container runtime on Container Apps GPU nodes, enabled by the NVIDIA_*
# variables below); CUDA user-space libraries come with TorchSharp-cuda-linux's libtorch packages.

ARG FUNCTIONS_IMAGE=mcr.microsoft.com/azure-functions/dotnet-isolated:4-dotnet-isolated10.0
ARG SDK_IMAGE=mcr.microsoft.com/dotnet/sdk:10.0

FROM ${FUNCTIONS_IMAGE} AS runtime

FROM ${SDK_IMAGE} AS build
WORKDIR /src
COPY . .
# Directory.Build.targets marks libLibTorchSharp.so's GLIBCXX_3.4.32 need weak when the target libstdc++ lacks it
# (the Functions base image is Debian-based); point it at the runtime image's libstdc++, not the SDK image's.
COPY --from=runtime /usr/lib/x86_64-linux-gnu/libstdc++.so.6 /opt/target/libstdc++.so.6
RUN dotnet publish src/FunctionsLlm.Inference/FunctionsLlm.Inference.csproj -c Release -r linux-x64 --no-self-contained \
      -p:TorchBackend=cuda -p:SystemLibstdcxx=/opt/target/libstdc++.so.6 -o /home/site/wwwroot

FROM runtime
ENV AzureWebJobsScriptRoot=/home/site/wwwroot \
    AzureFunctionsJobHost__Logging__Console__IsEnabled=true \
    NVIDIA_VISIBLE_DEVICES=all \
    NVIDIA_DRIVER_CAPABILITIES=compute,utility
COPY --from=build /home/site/wwwroot /home/site/wwwroot
