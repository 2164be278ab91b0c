#!/usr/bin/env bash
# Run one night of screening in-process on the embedded default:
#   scripts/nightly.sh [LOGICAL_DATE]     (default: today 02:00 China Standard Time)
# Migrates the Airflow metadata database (idempotent) and runs `airflow dags test nightly_screening`:
# ingest of new bundles in $CARBONQA_INBOX → screen per province (rules, tips) and detect per year
# (non-verifier detectors, once over the country: national peers) → national per year (verifier
# detectors over every province's findings) → cases → export.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/airflow_env.sh
source scripts/airflow_env.sh
DATE="${1:-$(TZ=Asia/Shanghai date +%Y-%m-%dT02:00:00+08:00)}"
airflow db migrate >/dev/null
# Airflow's own log (≈ 1,300 lines a night) goes to a file; the terminal gets the night's summary
# (`carbonqa runs last`), and the log's tail when the night fails.
LOG_DIR="${CARBONQA_HOME:-var}/logs"
mkdir -p "$LOG_DIR"
LOG="$LOG_DIR/nightly-$(date +%Y%m%dT%H%M%S).log"
echo "   Airflow log: $LOG"
# the night runs in the background; `carbonqa runs watch` draws its progress per stage from the store
airflow dags test nightly_screening "$DATE" >"$LOG" 2>&1 &
AIRFLOW_PID=$!
"$(dirname "$0")/../.venv/bin/carbonqa" runs watch --pid "$AIRFLOW_PID" || true
if ! wait "$AIRFLOW_PID"; then
  tail -40 "$LOG"; echo "night FAILED — full log: $LOG" >&2; exit 1
fi
if ! "$(dirname "$0")/../.venv/bin/carbonqa" runs last; then
  tail -40 "$LOG"; echo "night FAILED — full log: $LOG" >&2; exit 1
fi
