# syntax=docker/dockerfile:1
#
# Lethe container images (see docs/deploy.md).
#
#   docker build -t lethe:0.1.0 .                                # default: embedded CPU model
#   docker build --target gateway -t lethe:0.1.0-gateway .       # in front of vLLM or any
#                                                                # OpenAI-compatible upstream
#
# Both run as an unprivileged user, listen on 0.0.0.0:8000 and carry the demo configuration,
# forget set and calibration artifact under /app/deploy. Only a finished virtualenv reaches
# the runtime stages: no compiler, no pip cache, no source tree.

ARG PYTHON_IMAGE=python:3.11-slim

# The files an install needs, so both builders copy the same tree.
FROM scratch AS source
COPY pyproject.toml README.md /src/
COPY server /src/server
COPY verifiers /src/verifiers
COPY calibration /src/calibration

FROM ${PYTHON_IMAGE} AS python-base
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# ---- builders: a virtualenv at /opt/venv, copied whole (same path, same Python) ------------

FROM python-base AS build-gateway
RUN python -m venv /opt/venv
COPY --from=source /src /src
RUN --mount=type=cache,target=/root/.cache/pip /opt/venv/bin/pip install /src

FROM python-base AS build-embedded
# llama-cpp-python has no wheel on PyPI and compiles llama.cpp on install. A native build
# (-march=native) would only run on CPUs like the build machine's, so build for a portable
# AVX2 baseline, as the Makefile does. The pip cache mount keeps the compiled wheel between
# builds: changing Lethe's code does not recompile llama.cpp.
RUN apt-get update \
 && apt-get install -y --no-install-recommends build-essential cmake \
 && rm -rf /var/lib/apt/lists/*
ARG CMAKE_ARGS="-DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON"
# The semantic verifier's MiniLM runs on the CPU: PyTorch's CPU wheel index, or pip takes
# PyPI's torch, a CUDA build of several GB.
ARG TORCH_INDEX=https://download.pytorch.org/whl/cpu
RUN python -m venv /opt/venv
COPY --from=source /src /src
RUN --mount=type=cache,target=/root/.cache/pip \
    CMAKE_ARGS="${CMAKE_ARGS}" /opt/venv/bin/pip install \
        --extra-index-url "${TORCH_INDEX}" "/src[embedded]"

# ---- runtime ------------------------------------------------------------------------------

FROM python-base AS runtime
# A numeric uid, so Kubernetes' runAsNonRoot can check it without reading /etc/passwd.
RUN groupadd --system --gid 10001 lethe \
 && useradd --system --uid 10001 --gid lethe --no-create-home --home-dir /nonexistent \
        --shell /usr/sbin/nologin lethe
ENV PATH=/opt/venv/bin:$PATH \
    LETHE_SERVER__HOST=0.0.0.0
WORKDIR /app
# The demo: read-only, owned by root. Mount your own forget set, artifact and config instead.
COPY deploy/demo.yaml deploy/demo.yaml
COPY deploy/forget-sets deploy/forget-sets
COPY deploy/artifacts deploy/artifacts
# The calibration traffic the shipped artifact was made on: where the recalibration CronJob
# (deploy/k8s/components/recalibration) starts its growing dataset.
COPY deploy/calibration/tofu-proxy-calibration deploy/calibration/tofu-proxy-calibration
# The demo's target store (unlearning.store in demo.yaml): the one writable place, a volume.
RUN mkdir -p deploy/state && chown 10001:10001 deploy/state
VOLUME /app/deploy/state
EXPOSE 8000
# slim has no curl. The port follows LETHE_SERVER__PORT when that is how it was changed.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/health' % os.environ.get('LETHE_SERVER__PORT', '8000'), timeout=4)"]
ENTRYPOINT ["lethe"]

# Gateway: no model inside. Mount a config with backend.kind: openai at /etc/lethe/lethe.yaml
# (deploy/compose/lethe-vllm.yaml is one).
FROM runtime AS gateway
COPY --from=build-gateway /opt/venv /opt/venv
USER 10001:10001
CMD ["serve", "--config", "/etc/lethe/lethe.yaml"]

# Default target (last stage): the embedded SmolLM2 model serving the TOFU demo.
FROM runtime AS embedded
# llama.cpp's CPU backend is linked against OpenMP.
RUN apt-get update \
 && apt-get install -y --no-install-recommends libgomp1 \
 && rm -rf /var/lib/apt/lists/*
COPY --from=build-embedded /opt/venv /opt/venv
USER 10001:10001
CMD ["serve", "--config", "/app/deploy/demo.yaml"]
