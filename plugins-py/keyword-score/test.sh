#!/usr/bin/env bash
# Build keyword-score.wasm from source, run the native unit tests (test_app.py) and check the
# component in ferrule's real runtime with `ferrule plugin inspect` and `ferrule plugin run`: a
# match, a non-match and invalid configs. ~2 min, nearly all of it wasmtime compiling the
# component once per ferrule command.
# Exits non-zero when any output differs from the expected one.
#
#   FERRULE=path/to/ferrule ./test.sh   # default: target/debug/ferrule of this repository,
#                                       # built with cargo when missing
#   NO_BUILD=1 ./test.sh                # reuse keyword-score.wasm from an earlier build
set -uo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
wasm="$here/keyword-score.wasm"
ctx="$root/tests/fixtures/context.json"

ferrule="${FERRULE:-$root/target/debug/ferrule}"
if [ ! -x "$ferrule" ]; then
    echo "building $ferrule" >&2
    (cd "$root" && cargo build -q -p ferrule-host --bin ferrule) || exit 1
fi
if [ -z "${NO_BUILD:-}" ] || [ ! -f "$wasm" ]; then
    "$here/build.sh" "$wasm" || exit 1
fi

passed=0
failed=0
out="$(mktemp)"
stubs="$(mktemp -d)"
trap 'rm -rf "$out" "$stubs"' EXIT

# Native unit tests of the parsing and scoring, against componentize-py's stub bindings.
componentize-py -d "$root/wit" -w condition bindings "$stubs" >/dev/null || exit 1
if (cd "$here" && PYTHONDONTWRITEBYTECODE=1 PYTHONPATH="$stubs" python3 -m unittest -q test_app) >"$out" 2>&1; then
    echo "ok   native unit tests (test_app.py)"
    passed=$((passed + 1))
else
    echo "FAIL native unit tests (test_app.py)"
    sed 's/^/     /' "$out"
    failed=$((failed + 1))
fi

# check NAME EXPECTED_EXIT PYTHON_EXPR -- COMMAND...: PYTHON_EXPR is evaluated with `o`, the
# command's JSON output.
check() {
    local name="$1" want_rc="$2" expr="$3"
    shift 4
    "$@" >"$out" 2>&1
    local rc=$?
    if [ "$rc" = "$want_rc" ] && python3 -c '
import json, sys
o = json.load(open(sys.argv[1]))
sys.exit(0 if eval("(" + sys.argv[2] + ")") else 1)' "$out" "$expr" 2>/dev/null; then
        echo "ok   $name"
        passed=$((passed + 1))
    else
        echo "FAIL $name (exit $rc, expected $want_rc; expected: $expr)"
        sed 's/^/     /' "$out"
        failed=$((failed + 1))
    fi
}

run() { "$ferrule" plugin run "$wasm" --context "$ctx" --config "$1"; }

# The fixture: subject "ZWROT zamówienia 1042", body "Dzień dobry, paczka z zamówienia 1042 jest
# uszkodzona, chcę ją zwrócić."

check "inspect: name, version, kind, schema" 0 \
    'o["name"] == "keyword-score" and o["version"] == "0.1.0" and o["kind"] == "condition"
     and o["config_schema"]["required"] == ["keywords", "threshold"]' \
    -- "$ferrule" plugin inspect "$wasm"

# zwrot (subject, upper case) 2 + USZKODZONA (body) 1.5 + ZAMÓWIENIA 0.5 = 4 >= 4; refund absent.
check "match: 2 + 1.5 + 0.5 reaches 4" 0 \
    'o["verdict"] == {"matches": True} and o["stats"]["logs"][0]["message"].endswith("4/4")' \
    -- run '{"keywords": {"zwrot": 2, "USZKODZONA": 1.5, "ZAMÓWIENIA": 0.5, "refund": 5}, "threshold": 4}'

# uszkodzona 1 < 2; refund and "zwrot towaru" absent.
check "no match: 1 is below 2" 0 \
    'o["verdict"] == {"matches": False}' \
    -- run '{"keywords": {"refund": 2, "uszkodzona": 1, "zwrot towaru": 3}, "threshold": 2}'

check "invalid config: weight not a number" 1 \
    'o["stage"] == "validate" and o["error"] == {"kind": "invalid_config", "path": "keywords.zwrot",
     "message": "weight must be a number, found string"}' \
    -- run '{"keywords": {"zwrot": "high"}, "threshold": 1}'

check "invalid config: negative threshold" 1 \
    'o["error"]["kind"] == "invalid_config" and o["error"]["path"] == "threshold"' \
    -- run '{"keywords": {"zwrot": 1}, "threshold": -1}'

# (Bad JSON, missing and unknown keys: test_app.py. Each `ferrule plugin run` compiles the
# 18 MB component anew, ~20 s, since the CLI has no compiled-code cache.)

echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
