#!/usr/bin/env bash
# Set up carbonqa on a fresh machine: uv, a Python 3.11 venv with the pinned stack (tested lock in
# constraints/, inside the repository), and the Debian packages the dashboard's PDF and browser test need.
# Idempotent: a second run only checks.
set -euo pipefail
cd "$(dirname "$0")/.."
export UV_COMPILE_BYTECODE=1   # PYTHONDONTWRITEBYTECODE is set on these machines: compile once here
CONSTRAINTS="constraints/py311-airflow-3.3.2.txt"

if ! command -v uv >/dev/null 2>&1; then
  python3 -m pip install --quiet uv
fi
if [ ! -x .venv/bin/python ]; then
  uv venv --quiet .venv --python 3.11
fi
uv pip install --quiet --python .venv/bin/python -e ".[airflow,dashboard,dev]" --constraint "$CONSTRAINTS"

# Debian packages: CJK fonts for the PDF brief and charts, Chromium for the browser test,
# poppler-utils to check the brief's extracted Chinese text.
need=()
[ -n "$(fc-list :lang=zh 2>/dev/null | head -1)" ] || need+=(fonts-noto-cjk)
command -v chromium >/dev/null 2>&1 || need+=(chromium)
command -v pdftotext >/dev/null 2>&1 || need+=(poppler-utils)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" = "0" ]; then
    echo "installing Debian packages: ${need[*]}"
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" fontconfig) >/dev/null \
      || echo "WARNING: could not install ${need[*]}; PDF/browser features will be limited" >&2
  else
    echo "WARNING: not root; please install: ${need[*]}" >&2
  fi
fi
.venv/bin/carbonqa --help >/dev/null
echo "carbonqa set up in $(pwd)/.venv"
