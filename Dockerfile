# The autoresearch worker: Node.js (the Temporal worker, `npm run worker`), git, python3, uv and the
# trainer's PyTorch environment. It needs no Temporal CLI and no server: it connects to the one named
# by TEMPORAL_ADDRESS. docker-compose.yml builds it as the `worker` service; by hand:
#
#   docker build -t autoresearch-worker .
#   docker run --gpus all --cap-add SYS_ADMIN --cap-add NET_ADMIN \
#     --security-opt seccomp=docker/seccomp-bwrap.json --security-opt apparmor=unconfined \
#     --security-opt no-new-privileges:true \
#     -e TEMPORAL_ADDRESS=temporal.example:7233 -e AUTORESEARCH_HOST=gpu-1 \
#     autoresearch-worker npm run worker -- --gpus 0,1
#
# The capabilities and security options are what the trainer's sandbox (bubblewrap) needs in a
# container; without them the worker refuses to train (AUTORESEARCH_SANDBOX=required). docs/docker.md.
#
# The image holds a git clone of this repository (.git is part of the build context), so the worker's
# default research repository, the project itself at /app, works as is.
FROM node:22-bookworm-slim

# Debian bookworm's python3 is 3.11, what the trainer requires at least; the PyPI torch wheels bring
# their own CUDA libraries, the NVIDIA container runtime adds the driver. bubblewrap is the trainer's
# sandbox: it needs the container settings of docker-compose.yml's worker (docs/docker.md).
RUN apt-get update \
 && apt-get install -y --no-install-recommends git python3 python3-venv ca-certificates bubblewrap \
 && rm -rf /var/lib/apt/lists/*

# uv, installed with pip into its own virtual environment (as scripts/setup.sh does).
RUN python3 -m venv /opt/uv \
 && /opt/uv/bin/pip install --no-cache-dir --disable-pip-version-check uv \
 && ln -s /opt/uv/bin/uv /usr/local/bin/uv \
 && uv --version

# AUTORESEARCH_SANDBOX=required: a container started without the settings bwrap needs refuses to
# train (a non-retryable error naming why) instead of running the LLM's code beside the API keys.
# AUTORESEARCH_CACHE_HOME: the worker-owned trainer environments live in the image, outside the
# volume docker-compose.yml mounts on ~/.cache/autoresearch (the prepared data), which would hide them.
ENV UV_PYTHON=python3 \
    UV_PYTHON_DOWNLOADS=never \
    UV_LINK_MODE=copy \
    UV_CACHE_DIR=/root/.cache/uv \
    AUTORESEARCH_SANDBOX=required \
    AUTORESEARCH_CACHE_HOME=/opt/autoresearch \
    NVIDIA_DRIVER_CAPABILITIES=compute,utility

WORKDIR /app

# npm packages first, so that a change to the sources does not reinstall them. Not `npm ci`: the
# lock file may lack other platforms' optional binaries (see scripts/setup.sh); `npm install
# --no-save` installs the locked versions. Dev dependencies are needed: the worker runs under tsx.
COPY package.json package-lock.json ./
RUN npm install --no-save --no-audit --no-fund --loglevel=error && npm cache clean --force

# The trainers' Python environment (PyTorch, a few GB), built and owned by the worker: one per lock
# file, under $AUTORESEARCH_CACHE_HOME/envs, read-only in every sandbox (trainers never sync it). Built
# here so the first experiment does not download it. Only the lock files and the sources that build it
# come first, so a change elsewhere (docs, tests) reuses this layer; no uv cache is kept in the image.
COPY trainer/pyproject.toml trainer/uv.lock trainer/
COPY scripts/trainer-env.ts scripts/
COPY src/ src/
RUN UV_NO_CACHE=1 npm run trainer-env

COPY . .
# Again with the whole trainer directory (a .python-version, say, changes the environment): nothing to
# do when it is the environment built above.
RUN UV_NO_CACHE=1 npm run trainer-env

ENV AUTORESEARCH_REPO=/app
CMD ["npm", "run", "worker"]
