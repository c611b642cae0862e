# Sourced by the project's scripts: where the tools the project installs itself live (outside the clone).
export AUTORESEARCH_CACHE_HOME="${AUTORESEARCH_CACHE_HOME:-$HOME/.cache/autoresearch}"
export PATH="$AUTORESEARCH_CACHE_HOME/bin:$PATH"
export UV_CACHE_DIR="${UV_CACHE_DIR:-$AUTORESEARCH_CACHE_HOME/uv-cache}"
export UV_PYTHON_DOWNLOADS=never  # uv cannot download a managed Python here: use the machine's python3
export UV_PYTHON="${UV_PYTHON:-python3}"
# Environments get their own copies of the packages, never hard links into the cache: a file changed in
# one can never change another, or the cache.
export UV_LINK_MODE=copy
