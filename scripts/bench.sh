#!/usr/bin/env bash
# MAIN COMMAND: run the asv suite on this machine and publish the site.
#
#   scripts/bench.sh                  default profile, HEAD of main, the two
#                                     corner environments (see below)
#   BENCH_ENVS=all scripts/bench.sh   every environment of the asv.conf.json
#                                     matrix whose Python is installed
#   PARALLELDOT_BENCH_PROFILE=quick|default|full scripts/bench.sh
#   scripts/bench.sh ARGS...          ARGS go to `asv run` (a commit range,
#                                     NEW, HASHFILE:file, --bench REGEX, ...);
#                                     with -E/--python in ARGS, those choose
#                                     the environments
#
# Needs no standard input. Steps: a virtual environment .venv with the
# package and its `bench` extra (asv, virtualenv); the pyenv interpreters
# on PATH when pyenv exists (asv cannot use pyenv's shims); `asv machine
# --yes`; `asv run`; `asv publish` (an offline site); then how to open it.
#
# Environments: the default run uses the two corners of the matrix, the
# oldest Python found with numpy 1.26.4 and the newest with numpy 2.4.6
# (3.10 and 3.13 when all are there; both numpy versions when only one
# Python is there). That fits the budget of a 2-core machine: 8.3 minutes
# for the first run (environments created) and 6 for a rerun, measured
# while other jobs kept the machine's load average near 10. The whole
# matrix (6 environments) takes about three times as long.
set -euo pipefail
cd "$(dirname "$0")/.."

python=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
    "$python" -m venv .venv
fi
# Install (again) only when the venv is new or pyproject.toml changed.
stamp=.venv/.paralleldot-bench-installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ] || [ ! -x .venv/bin/asv ]; then
    .venv/bin/python -m pip install --quiet --upgrade pip
    .venv/bin/python -m pip install --quiet -e '.[bench]'
    touch "$stamp"
fi

# asv looks for python3.X on PATH; pyenv's shims crash its discovery, so
# put the real interpreters before them when pyenv is there.
if command -v pyenv >/dev/null 2>&1; then
    root=$(pyenv root)
    for version in $(pyenv versions --bare 2>/dev/null | sort -rV); do
        case $version in 3.1[0-9].*) PATH="$root/versions/$version/bin:$PATH" ;; esac
    done
fi
export PATH="$PWD/.venv/bin:$PATH"

export PARALLELDOT_BENCH_PROFILE=${PARALLELDOT_BENCH_PROFILE:-default}
echo "bench.sh: profile $PARALLELDOT_BENCH_PROFILE (PARALLELDOT_BENCH_PROFILE)"

# Register this machine without questions (writes ~/.asv-machine.json).
asv machine --yes >/dev/null

# The Pythons of asv.conf.json that really run here.
found=()
for v in 3.10 3.11 3.12 3.13; do
    if command -v "python$v" >/dev/null 2>&1 && "python$v" -c "" >/dev/null 2>&1; then
        found+=("$v")
    fi
done
if [ ${#found[@]} -eq 0 ]; then
    echo "bench.sh: none of Python 3.10-3.13 found on PATH" >&2
    exit 1
fi
echo "bench.sh: Pythons found: ${found[*]} (missing ones are skipped)"
env_args=()
choose=${BENCH_ENVS:-corners}
for arg in "$@"; do
    case $arg in -E|--environment|--environment=*|--python|--python=*) choose=given ;; esac
done
if [ "$choose" = corners ]; then
    oldest=${found[0]}
    newest=${found[${#found[@]}-1]}
    env_args+=(-E "virtualenv:$oldest")
    [ "$newest" = "$oldest" ] || env_args+=(-E "virtualenv:$newest")
fi

status=0
asv run ${env_args[@]+"${env_args[@]}"} --show-stderr "$@" || status=$?

# The asv_offline plugin (asv.conf.json "plugins") makes the published site
# load its JavaScript from html/vendor/ instead of CDNs, and makes
# `asv preview` listen on 127.0.0.1 only.
asv publish

cat <<EOF

bench.sh: results in results/, site in html/ (works offline).
  Open it:  cd "$PWD" && .venv/bin/asv preview --port 8080   (127.0.0.1 only)
            then browse http://127.0.0.1:8080/
            or, without asv: .venv/bin/python -m http.server --bind 127.0.0.1 --directory html 8080
  Compare:  .venv/bin/asv compare <commit A> <commit B>
EOF
if [ "$status" -ne 0 ]; then
    echo "bench.sh: asv run exited with status $status (2: a benchmark failed; see above)" >&2
fi
exit "$status"
