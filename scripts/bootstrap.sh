# Sourced by the other scripts: makes .venv with the locked dependencies.
# Needs only Python 3.11+ and the package registries.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
PY="${PYTHON:-python3}"
if ! "$PY" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
  echo "openroster needs Python 3.11 or newer (set PYTHON=/path/to/python3.11)" >&2
  exit 1
fi
UV_VERSION="0.13.8"
if [ ! -x .tools/bin/uv ] || [ "$(.tools/bin/uv --version | cut -d' ' -f2)" != "$UV_VERSION" ]; then
  "$PY" -m venv .tools
  .tools/bin/python -m pip install --quiet --disable-pip-version-check "uv==$UV_VERSION"
fi
export UV_PYTHON_DOWNLOADS=never
export UV_PYTHON="$PY"
# Bytecode is compiled once here, for the dependencies and for src/. Python reads .pyc files even
# where writing them is turned off (PYTHONDONTWRITEBYTECODE=1, as on some CI images), and without
# them every process compiles its imports from source again: a second of CPU for each server and
# CLI command, hundreds of times in the test suite (a CLI command: 2.4 s -> 1.1 s).
.tools/bin/uv sync --frozen --quiet --compile-bytecode
.venv/bin/python -m compileall -q -j 0 src >/dev/null
