#!/usr/bin/env bash
# Scheduler benchmark: N open tickets (default 1,000,000), 20 time rules, 1 % of the tickets due.
# The rules are created through the API; the tickets are written straight into the SQLite file
# while the server is stopped (the API would take hours to import a million), with the due 1 %
# marked due as a restart would find them. Then the server starts and we measure how long the
# scheduler takes to finish the due work, and the server's RSS.
# Each due ticket matches exactly one rule (tag `segment-K` and a customer silent for 40 h →
# add tag `followed-up-K`); the other 99 % are open but not due and must cost nothing.
# Usage: bench/schedule.sh [tickets] [due-percent]
set -euo pipefail
cd "$(dirname "$0")/.."
tickets=${1:-1000000}
percent=${2:-1}
port=18182
cargo build --release -p ferrule-host --bin ferrule
dir=$(mktemp -d)
db="$dir/bench.db"
start_server() {
    FERRULE_OPERATOR_TOKEN=bench-operator RUST_LOG=warn ./target/release/ferrule serve \
        --listen 127.0.0.1:$port --database "sqlite://$db" --cache-dir "$dir/cache" --tick 60s &
    pid=$!
}
trap 'kill $pid 2>/dev/null || true; rm -rf "$dir"' EXIT
base=http://127.0.0.1:$port/api/v1
wait_up() { for _ in $(seq 1 600); do curl -sf $base/healthz >/dev/null && return; sleep 0.05; done; }
start_server
wait_up
key=$(curl -sf -XPOST $base/tenants -H 'authorization: Bearer bench-operator' \
    -d '{"name": "Bench shop", "timezone": "Europe/Warsaw"}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["api_key"])')
for k in $(seq 0 19); do
    curl -sf -XPOST $base/rules -H "authorization: Bearer $key" -H 'content-type: application/json' -d "{
        \"name\": \"Follow up segment $k\", \"trigger\": {\"time\": {}},
        \"conditions\": {\"all\": [{\"plugin\": \"tag\", \"config\": {\"is\": [\"segment-$k\"]}},
                                 {\"plugin\": \"last-customer-reply\", \"config\": {\"older_than_hours\": 36}}]},
        \"actions\": [{\"plugin\": \"add-tags\", \"config\": {\"tags\": [\"followed-up-$k\"]}}]}" >/dev/null
done
kill $pid; wait $pid 2>/dev/null || true
echo "seeding $tickets open tickets ($percent % due)..."
python3 - "$db" "$tickets" "$percent" <<'PY'
import sqlite3, sys, time
db, n, percent = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
con = sqlite3.connect(db)
now = int(time.time() * 1000)
hour = 3600 * 1000
every = int(round(100 / percent))
con.execute("INSERT INTO customers (tenant_id, name, email) VALUES (1, 'Anna', 'anna@example.com')")
cid = con.execute("SELECT max(id) FROM customers").fetchone()[0]
con.execute("""
WITH RECURSIVE seq(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM seq WHERE i < ?)
INSERT INTO tickets (tenant_id, number, subject, status, status_changed_at, source, customer_id, tags,
                     created_at, updated_at, last_customer_message_at, revision, due_at)
SELECT 1, i, 'Order ' || i, 'waiting-for-customer', ?, 'email', ?,
       '["segment-' || (i % 20) || '"]', ?, ?,
       CASE WHEN i % ? = 0 THEN ? ELSE ? END,
       1,
       CASE WHEN i % ? = 0 THEN ? ELSE NULL END
FROM seq
""", (n, now - 50 * hour, cid, now - 50 * hour, now - 50 * hour,
      every, now - 40 * hour, now - 1 * hour, every, now - 1000))
con.execute("UPDATE tenants SET next_number = ? WHERE id = 1", (n + 1,))
con.commit()
due = con.execute("SELECT count(*) FROM tickets WHERE due_at IS NOT NULL").fetchone()[0]
print(f"{n} tickets, {due} due", file=sys.stderr)
con.close()
PY
echo "database: $(du -h "$db" | cut -f1)"
started=$(date +%s.%N)
start_server
python3 - "$db" "$started" "$pid" <<'PY'
import sqlite3, sys, time
db, started, pid = sys.argv[1], float(sys.argv[2]), sys.argv[3]
con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
def rss():
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS"):
                return int(line.split()[1]) // 1024
peak = 0
first = None
while True:
    now = int(time.time() * 1000)
    try:
        due = con.execute("SELECT count(*) FROM tickets WHERE due_at IS NOT NULL AND due_at <= ?", (now,)).fetchone()[0]
        fired = con.execute("SELECT count(*) FROM time_fires").fetchone()[0]
    except sqlite3.OperationalError:
        time.sleep(0.05); continue
    peak = max(peak, rss() or 0)
    if fired > 0 and first is None:
        first = time.time()
    if due == 0 and fired > 0:
        break
    time.sleep(0.05)
done = time.time()
print(f"due work finished {done - started:.2f} s after the server process started "
      f"({done - first:.2f} s from the first fire); {fired} time rules fired; peak RSS {peak} MiB")
PY
echo "server RSS after: $(( $(ps -o rss= -p $pid) / 1024 )) MiB"
