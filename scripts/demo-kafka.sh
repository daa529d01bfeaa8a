#!/usr/bin/env bash
# The distributed path on one machine: a real Apache Kafka (one KRaft node started from the jars that
# scripts/ensure-kafka.sh fetches; SIGNAL_FACTORY_DEMO_BROKER=mock uses librdkafka's mock cluster instead),
# `run enforcer` and `run signals` as consumer-group processes, Scenario 1's traffic produced to
# raw.orders.events, then the incident and its RCA read from the store the stages wrote. Pass a
# PostgreSQL URL as $1 to use it instead of SQLite.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin
WORK=.signal-factory/demo-kafka
DB=${1:-sqlite:///$WORK/sf.db}
rm -rf "$WORK" && mkdir -p "$WORK"

BROKER=tests.transports.kafka_broker
if [[ "${SIGNAL_FACTORY_DEMO_BROKER:-kafka}" == "mock" ]]; then
  BROKER=tests.transports.kafka_mock
else
  bash scripts/ensure-kafka.sh >"$WORK/ensure-kafka.log"
fi
# The broker lives while its stdin is open: fd 3 of this script, closed when the script exits (it then
# stops the JVM by PID and removes its log dir).
exec 3> >($BIN/python -m $BROKER --topic raw.orders.events:8 \
    --topic signal_factory.evidence:4 --topic signal_factory.evidence.tallies:4 \
    --topic signal_factory.signals:4 >"$WORK/broker.out" 2>"$WORK/broker.log")
BROKER_PID=$!
trap 'exec 3>&-; wait "$BROKER_PID" 2>/dev/null || true' EXIT  # leave no broker behind
for _ in $(seq 600); do grep -q READY "$WORK/broker.out" 2>/dev/null && break; sleep 0.2; done
grep -q READY "$WORK/broker.out" || { echo "the broker did not start; see $WORK/broker.log" >&2; exit 1; }
BOOT=$(awk '/^BOOTSTRAP/ {print $2}' "$WORK/broker.out")
echo "$([[ $BROKER == *mock ]] && echo "mock Kafka cluster" || echo "Apache Kafka $(cat "${SIGNAL_FACTORY_KAFKA_HOME:-$HOME/.cache/signal-factory/kafka}/VERSION") (KRaft)") at $BOOT; store $DB; logs in $WORK/"

$BIN/signal-factory deploy --db "$DB" --file examples/orders/scenario1/deployments.jsonl >/dev/null
$BIN/signal-factory run enforcer --bootstrap-servers "$BOOT" --group-id sf-enforcer \
    --topics raw.orders.events --exit-when-idle 5 2>"$WORK/enforcer.log" &
ENF=$!
$BIN/signal-factory run signals --db "$DB" --bootstrap-servers "$BOOT" --group-id sf-signals \
    --flush-when-idle 3 --exit-when-idle 8 2>"$WORK/signals.log" &
SIG=$!
$BIN/python - "$BOOT" <<'PY' 2>"$WORK/producer.log"
import sys
from tests.transports.conftest import produce_traffic
print(f"produced {produce_traffic(sys.argv[1]):,} Scenario 1 records to raw.orders.events")
PY
wait $ENF $SIG
echo "enforcer: $(tail -1 "$WORK/enforcer.log")"
echo "signals:  $(tail -1 "$WORK/signals.log")"
$BIN/signal-factory incidents list --db "$DB"
$BIN/signal-factory rca INC-1 --db "$DB"
