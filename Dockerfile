# The autoresearch worker: Node.js (the Temporal worker, `npm run worker`), git, python3, uv and the
# trainer's PyTorch environment. It needs no Temporal CLI and no server: it connects to the one named
# by TEMPORAL_ADDRESS. docker-compose.yml builds it as the `worker` service; by hand:
#
#   docker build -t autoresearch-worker .
#   docker run --gpus all -e TEMPORAL_ADDRESS=temporal.example:7233 -e AUTORESEARCH_HOST=gpu-1 \
#     autoresearch-worker npm run worker -- --gpus 0,1
#
# The image holds a git clone of this repository (.git is part of the build context), so the worker's
# default research repository, the project itself at /app, works as is.
FROM node:22-bookworm-slim

# Debian bookworm's python3 is 3.11, what the trainer requires at least; the PyPI torch wheels bring
# their own CUDA libraries, the NVIDIA container runtime adds the driver.
RUN apt-get update \
 && apt-get install -y --no-install-recommends git python3 python3-venv ca-certificates \
 && rm -rf /var/lib/apt/lists/*

# uv, installed with pip into its own virtual environment (as scripts/setup.sh does).
RUN python3 -m venv /opt/uv \
 && /opt/uv/bin/pip install --no-cache-dir --disable-pip-version-check uv \
 && ln -s /opt/uv/bin/uv /usr/local/bin/uv \
 && uv --version

ENV UV_PYTHON=python3 \
    UV_PYTHON_DOWNLOADS=never \
    UV_LINK_MODE=copy \
    UV_CACHE_DIR=/root/.cache/uv \
    NVIDIA_DRIVER_CAPABILITIES=compute,utility

WORKDIR /app

# npm packages first, so that a change to the sources does not reinstall them. Not `npm ci`: the
# lock file may lack other platforms' optional binaries (see scripts/setup.sh); `npm install
# --no-save` installs the locked versions. Dev dependencies are needed: the worker runs under tsx.
COPY package.json package-lock.json ./
RUN npm install --no-save --no-audit --no-fund --loglevel=error && npm cache clean --force

# The trainer's Python environment (PyTorch, a few GB) from its lock file alone: the trainer is a
# plain script project (`package = false`), nothing of it is built. No cache is kept in the image.
COPY trainer/pyproject.toml trainer/uv.lock trainer/
RUN cd trainer && uv sync --frozen --no-cache

# Every worktree the worker creates (one per run and lane) would otherwise get its own copy of that
# environment on its first `uv run`: point them all at the one built above. A research repository
# whose trainer/uv.lock differs syncs this environment to its own lock.
ENV UV_PROJECT_ENVIRONMENT=/app/trainer/.venv

COPY . .

ENV AUTORESEARCH_REPO=/app
CMD ["npm", "run", "worker"]
