# Trainer image: src/FunctionsLlm.Trainer (ASP.NET Core, /jobs API) with CUDA TorchSharp, on an NVIDIA CUDA base.
# Build context: the repository root. Settings: README "The trainer app" (storage, auth, cache folder).
#   az acr build -r REGISTRY -t flm/trainer:TAG -f infra/docker/trainer.Dockerfile .   (what deploy.sh runs)
#   docker build -f infra/docker/trainer.Dockerfile -t flm-trainer .
# The GPU driver comes from the host (Container Apps GPU nodes mount it through the NVIDIA container runtime);
# the CUDA user-space libraries come with TorchSharp-cuda-linux's libtorch packages, restored from nuget.org.

ARG CUDA_IMAGE=nvidia/cuda:12.8.1-base-ubuntu24.04
ARG SDK_IMAGE=mcr.microsoft.com/dotnet/sdk:10.0-noble

FROM ${CUDA_IMAGE} AS runtime
# ICU: the apps run with globalization on (zh/en data); no .NET runtime, the publish is self-contained.
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates libicu74 tzdata \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --uid 10001 --create-home --shell /usr/sbin/nologin flm

FROM ${SDK_IMAGE} AS build
WORKDIR /src
COPY . .
# Directory.Build.targets marks libLibTorchSharp.so's GLIBCXX_3.4.32 need weak when the target libstdc++ lacks it;
# point it at the runtime image's libstdc++, not the SDK image's.
COPY --from=runtime /usr/lib/x86_64-linux-gnu/libstdc++.so.6 /opt/target/libstdc++.so.6
RUN dotnet publish src/FunctionsLlm.Trainer/FunctionsLlm.Trainer.csproj -c Release -r linux-x64 --self-contained \
      -p:TorchBackend=cuda -p:SystemLibstdcxx=/opt/target/libstdc++.so.6 -o /app

FROM runtime
WORKDIR /app
COPY --from=build /app .
# Port 8080 is what bicep/modules/trainerApp.bicep routes to and probes (/healthz, /readyz).
ENV ASPNETCORE_HTTP_PORTS=8080 \
    DOTNET_RUNNING_IN_CONTAINER=true \
    NVIDIA_VISIBLE_DEVICES=all \
    NVIDIA_DRIVER_CAPABILITIES=compute,utility
EXPOSE 8080
USER flm
# Container Apps uses its own probes (bicep); this serves docker run and other hosts.
HEALTHCHECK --interval=30s --timeout=6s --start-period=20s --retries=3 CMD ["./FunctionsLlm.Trainer", "--probe"]
ENTRYPOINT ["./FunctionsLlm.Trainer"]
