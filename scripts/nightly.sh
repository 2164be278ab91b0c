#!/usr/bin/env bash
# Run one night of screening in-process on the embedded default:
#   scripts/nightly.sh [LOGICAL_DATE]     (default: today 02:00 China Standard Time)
# Migrates the Airflow metadata database (idempotent) and runs `airflow dags test nightly_screening`:
# ingest of new bundles in $CARBONQA_INBOX → rules and detectors per province → cases → export.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/airflow_env.sh
source scripts/airflow_env.sh
DATE="${1:-$(TZ=Asia/Shanghai date +%Y-%m-%dT02:00:00+08:00)}"
airflow db migrate >/dev/null
airflow dags test nightly_screening "$DATE"
