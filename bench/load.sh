#!/usr/bin/env bash
# End-to-end load benchmark: `ferrule serve` on a fresh SQLite file with 50 seed-like rules,
# driven by wrk posting new tickets (each runs ticket_created, first_customer_message and
# customer_message rules, with effects committed).
# Usage: bench/load.sh [seconds] [connections] [native]
# With `native`, the same server runs the plugin crates linked natively instead of as sandboxed
# components (feature `native-plugins`), to show what the sandbox costs.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-20}
conns=${2:-16}
mode=${3:-wasm}
port=18181
command -v wrk >/dev/null || apt-get install -y wrk
if [ "$mode" = native ]; then
    cargo build --release -p ferrule-host --bin ferrule --features native-plugins
    export FERRULE_BENCH_NATIVE_PLUGINS=1
else
    cargo build --release -p ferrule-host --bin ferrule
fi
dir=$(mktemp -d)
FERRULE_OPERATOR_TOKEN=bench-operator RUST_LOG=warn ./target/release/ferrule serve \
    --listen 127.0.0.1:$port --database "sqlite://$dir/bench.db" --cache-dir "$dir/cache" &
pid=$!
trap 'kill $pid 2>/dev/null; rm -rf "$dir"' EXIT
base=http://127.0.0.1:$port/api/v1
for _ in $(seq 1 120); do curl -sf $base/healthz >/dev/null && break; sleep 0.5; done
key=$(curl -sf -XPOST $base/tenants -H 'authorization: Bearer bench-operator' \
    -d '{"name": "Bench shop", "timezone": "Europe/Warsaw"}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["api_key"])')
python3 - "$base" "$key" <<'PY'
import json, sys, urllib.request
base, key = sys.argv[1], sys.argv[2]
def post(path, body):
    req = urllib.request.Request(base + path, json.dumps(body).encode(), {"authorization": "Bearer " + key, "content-type": "application/json"})
    return json.load(urllib.request.urlopen(req))
agents = [post("/agents", {"name": f"Agent {i}"})["id"] for i in range(5)]
week = {d: [["08:00", "16:00"]] for d in ["mon", "tue", "wed", "thu", "fri"]}
inbox = post("/inboxes", {"name": "Support", "working_hours": {"timezone": "Europe/Warsaw", "weekly": week}})["id"]
rules = []
for i in range(50):
    kind = i % 5
    if kind == 0:
        cond = {"not": {"plugin": "source", "config": {"is": ["allegro-discussions"]}}}
        act = [{"plugin": "assign-agent", "config": {"agent": agents[i % 5]}}]
    elif kind == 1:
        cond = {"any": [{"plugin": "subject-contains", "config": {"phrases": [f"zwrot {i}", "возврат", "reklamacja"]}}]}
        act = [{"plugin": "add-tags", "config": {"tags": [f"topic-{i}"]}}]
    elif kind == 2:
        cond = {"all": [{"plugin": "allegro-account", "config": {"is": [f"sklep_{i % 3}"]}}, {"plugin": "status", "config": {"is": ["new"]}}]}
        act = [{"plugin": "set-status", "config": {"status": "open"}}]
    elif kind == 3:
        cond = {"all": [{"plugin": "working-hours", "config": {"calendar": {"timezone": "Europe/Warsaw", "weekly": week}}}, {"plugin": "subject-contains", "config": {"phrases": [f"paczka {i}"]}}]}
        act = [{"plugin": "send-message", "config": {"body": "Dzień dobry {{customer.name}}, zgłoszenie #{{ticket.number}} przyjęte."}}]
    else:
        cond = {"all": [{"plugin": "source", "config": {"is": ["email", "chat"]}}, {"plugin": "subject-contains", "config": {"phrases": [f"faktura {i}"]}}]}
        act = [{"plugin": "add-tags", "config": {"tags": ["invoice"]}}]
    trigger = ["ticket_created"] if i % 2 == 0 else ["first_customer_message", "customer_message"]
    post("/rules", {"name": f"rule {i}", "trigger": {"events": trigger}, "conditions": cond, "actions": act})
print("50 rules created", file=sys.stderr)
PY
echo "warming up..."
FERRULE_KEY=$key wrk -t2 -c$conns -d3s -s bench/post-ticket.lua $base/tickets >/dev/null
echo "measuring ${secs}s with $conns connections (each request = 1 ticket = 3 events):"
FERRULE_KEY=$key wrk -t2 -c$conns -d${secs}s -s bench/post-ticket.lua --latency $base/tickets
echo "server RSS after the run: $(ps -o rss= -p $pid) KiB"
curl -sf $base/metrics | grep -E '^ferrule_(events_processed_total|rule_runs_total|plugin_call_seconds_(count|sum))'
