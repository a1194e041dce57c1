#!/usr/bin/env bash
# Sets up and runs every test of the repository on a fresh machine:
#   - a virtual environment .venv with the package and its test, bench,
#     report, dask and peers (numba) extras (pip, from PyPI), and torch's
#     CPU build where pip finds one (PyPI's torch is the multi-GB CUDA
#     build, not pulled in; without torch its peer tests skip and say so);
#   - Debian's chromium and chromium-driver for the browser tests, when
#     they are missing (apt-get; needs root or sudo);
#   - then pytest with every tier (--all-tiers: the fast tier and the slow
#     one, asv, browser and slow markers), with any arguments given to
#     this script.
# The asv tests build real virtualenv environments with the CPython
# versions found under pyenv (or the python running this script).
set -euo pipefail
cd "$(dirname "$0")/.."

python=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
    "$python" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --quiet --upgrade pip
.venv/bin/python -m pip install --quiet --quiet -e '.[test,bench,report,dask,peers]'
if ! .venv/bin/python -c "import torch" 2>/dev/null; then
    .venv/bin/python -m pip install --quiet --quiet 'torch==2.13.0+cpu' 2>/dev/null ||
        echo "test.sh: no CPU build of torch found; the torch.dot peer's tests will skip"
fi

if ! command -v chromium >/dev/null 2>&1; then
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq chromium chromium-driver >/dev/null
fi

# asv looks for the pythons of asv.conf.json on PATH; pyenv's shims crash
# its discovery, so put the real interpreters before them when pyenv is
# there, and this environment before everything.
if command -v pyenv >/dev/null 2>&1; then
    root=$(pyenv root)
    for version in $(pyenv versions --bare 2>/dev/null | sort -r); do
        case $version in 3.*) PATH="$root/versions/$version/bin:$PATH" ;; esac
    done
fi
export PATH="$PWD/.venv/bin:$PATH"

exec .venv/bin/python -m pytest --all-tiers "$@"
