#!/usr/bin/env bash
# MAIN COMMAND: measure the package's history with asv and publish the site.
#
#   scripts/bench.sh                  the history (benchmarks/milestones.txt and
#                                     every later commit that changes the package),
#                                     profile "default", the two corner environments
#   scripts/bench.sh ARGS...          ARGS go to `asv run`: a commit range (NEW,
#                                     A..B, HASHFILE:file, a hash) replaces the
#                                     history; -E/--python choose the environments;
#                                     --bench REGEX, -a ..., and so on
#   BENCH_ENVS=all scripts/bench.sh   every environment of the asv.conf.json matrix
#   PARALLELDOT_BENCH_PROFILE=quick|default|gate|full scripts/bench.sh
#
# Needs no standard input. Steps: a virtual environment .venv with the
# package and its `bench` extra (asv, virtualenv); the pyenv interpreters on
# PATH when pyenv exists (asv cannot use pyenv's shims); `asv machine --yes`;
# python -m benchtools history run (asv run --skip-existing, one progress line per
# commit and environment, asv's output in results/history.log); the control
# series' spread across commits; the change points of the paired ratio
# (python -m benchtools history changes); `asv publish` (an offline site,
# with html/changes.html); how to open it. Killed at any moment, a rerun
# measures what is missing: see docs/history.md.
#
# Environments: the two corners of the matrix, the oldest Python found with
# numpy 1.26.4 and the newest with numpy 2.4.6 (3.10 and 3.13 when all are
# there; both numpy versions when only one Python is there).
set -euo pipefail
cd "$(dirname "$0")/.."
started=$SECONDS

python=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
    "$python" -m venv .venv
fi
# Install (again) only when the venv is new or pyproject.toml changed.
stamp=.venv/.paralleldot-bench-installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ] || [ ! -x .venv/bin/asv ]; then
    echo "bench.sh: installing asv and the package into .venv"
    .venv/bin/python -m pip install --quiet --quiet --upgrade pip
    .venv/bin/python -m pip install --quiet --quiet -e '.[bench]'
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
echo "bench.sh: profile $PARALLELDOT_BENCH_PROFILE, Pythons found: ${found[*]}"

status=0
python -m benchtools history run ${env_args[@]+"${env_args[@]}"} "$@" || status=$?
python -m benchtools history spread || true
# Where the answer changed: the commits at which numpy.dot time / split time
# stepped, per environment, split, N, workers, dtype (apache-otava).
python -m benchtools history changes || true

# The asv_offline plugin (asv.conf.json "plugins") makes the published site
# load its JavaScript from html/vendor/ instead of CDNs, and makes
# `asv preview` listen on 127.0.0.1 only.
mkdir -p results
# A result file that does not parse (a run killed while an older asv wrote
# it) is set aside and named here; asv publish would skip it with a warning
# (an unreadable benchmarks.json would stop it).
python -m benchtools history check
asv publish >results/publish.log 2>&1 || { cat results/publish.log >&2; exit 1; }

minutes=$(( (SECONDS - started) / 60 )); seconds=$(( (SECONDS - started) % 60 ))
cat <<EOF

bench.sh: done in ${minutes} min ${seconds} s. Results in results/, the site in html/ (works offline).
  Open it:  cd "$PWD" && .venv/bin/asv preview --port 8080   (127.0.0.1 only)
            then browse http://127.0.0.1:8080/
            or, without asv: .venv/bin/python -m http.server --bind 127.0.0.1 --directory html 8080
  Compare:  .venv/bin/asv compare <commit A> <commit B>
EOF
if [ "$status" -ne 0 ]; then
    echo "bench.sh: asv run exited with status $status (2: a benchmark failed; see above and results/history.log)" >&2
fi
exit "$status"
