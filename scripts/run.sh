#!/usr/bin/env bash
# The main job on the embedded default (SQLite case store, local Parquet lake, Airflow in-process):
#   1. set up (idempotent),
#   2. build a national submission bundle for 2024 on the real registry of Chinese coal units and the
#      real US EIA-923 + EPA CEMS bundle, into the inbox,
#   3. run the nightly screening DAG (`airflow dags test nightly_screening`): ingest → rules and
#      detectors per province → scoring → cases → export,
#   4. create one demo user per tier and start the dashboard.
# Options: --no-dashboard (stop after the night), --provinces 15,37 (a smaller country), --no-telemetry.
set -euo pipefail
cd "$(dirname "$0")/.."
DASHBOARD=1; PROVINCES=""; TELEMETRY="--telemetry"
while [ $# -gt 0 ]; do
  case "$1" in
    --no-dashboard) DASHBOARD=0 ;;
    --provinces) PROVINCES="$2"; shift ;;
    --no-telemetry) TELEMETRY="--no-telemetry" ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
  shift
done

bash scripts/setup.sh
export CARBONQA_HOME="${CARBONQA_HOME:-$PWD/var}"
export CARBONQA_INBOX="${CARBONQA_INBOX:-$CARBONQA_HOME/inbox}"
CQ=.venv/bin/carbonqa
mkdir -p "$CARBONQA_INBOX" "$CARBONQA_HOME/labels"
$CQ db upgrade

name="national-2024${PROVINCES:+-p${PROVINCES//,/_}}"
if [ ! -f "$CARBONQA_INBOX/$name/manifest.json" ]; then
  echo "== generating the 2024 bundle on the real registry ($name) =="
  $CQ synth --out "$CARBONQA_INBOX/$name" --year 2024 --seed 2024 $TELEMETRY \
     ${PROVINCES:+--provinces "$PROVINCES"} --labels "$CARBONQA_HOME/labels/$name.labels.csv"
fi
if [ ! -f "$CARBONQA_INBOX/us-eia-epa/manifest.json" ]; then
  echo "== adapting the real US EIA-923 + EPA CEMS data =="
  $CQ adapt us --out "$CARBONQA_INBOX/us-eia-epa"
fi

echo "== nightly screening (Airflow, in-process) =="
bash scripts/nightly.sh

$CQ cases export --format csv --out "$CARBONQA_HOME/data/exports/cases-latest.csv"
$CQ cases export --format xlsx --out "$CARBONQA_HOME/data/exports/cases-latest.xlsx"
$CQ users demo

echo "== done: exports in $CARBONQA_HOME/data/exports (with .sidecar.json), demo users' passwords in $CARBONQA_HOME/demo_users.txt (0600) =="
if [ "$DASHBOARD" = 1 ]; then
  echo "== dashboard: http://localhost:${PORT:-8501} (sign in with a demo user above; Ctrl-C to stop) =="
  exec .venv/bin/streamlit run dashboard/streamlit_app.py --server.headless true --server.port "${PORT:-8501}" --server.address "${CARBONQA_DASHBOARD_ADDRESS:-127.0.0.1}"
fi
