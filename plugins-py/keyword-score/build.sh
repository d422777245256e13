#!/usr/bin/env bash
# Build keyword-score.wasm (a ferrule condition component) from app.py with componentize-py,
# against the repository's wit/ folder (package ferrule:plugin@0.1.x, world `condition`).
#
#   pip install componentize-py==0.25.1     # once; the build itself needs no network
#   ./build.sh [OUTPUT]                     # default: keyword-score.wasm beside this script
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
wit="$(cd "$here/../../wit" && pwd)"
out="$(realpath -m "${1:-$here/keyword-score.wasm}")"
want="0.25.1"

# The console script, or the module's entry point when pip put the script off PATH.
componentize_py() {
    if command -v componentize-py >/dev/null; then
        componentize-py "$@"
    else
        python3 -c 'import sys, componentize_py; sys.argv[0] = "componentize-py"; sys.exit(componentize_py.script())' "$@"
    fi
}
if ! python3 -c 'import componentize_py' 2>/dev/null && ! command -v componentize-py >/dev/null; then
    echo "componentize-py not found: pip install componentize-py==$want" >&2
    exit 1
fi
have="$(componentize_py --version | awk '{print $2}')"
if [ "$have" != "$want" ]; then
    echo "warning: componentize-py $have, this plugin is tested with $want" >&2
fi

# Build from a copy holding only the plugin's source: nothing else in this folder (tests, an
# earlier build) is bundled, and componentize-py's __pycache__ stays out of the source tree.
stage="$(mktemp -d)"
trap 'rm -rf "$stage"' EXIT
cp "$here/app.py" "$stage/"
(cd "$stage" && componentize_py -d "$wit" -w condition componentize app -p "$stage" -o "$out")
echo "$out: $(stat -c %s "$out") bytes"
