# Source me: Airflow on the embedded default (SQLite metadata under var/airflow, DAGs from dags/).
#   source scripts/airflow_env.sh
# Every variable can be overridden beforehand (e.g. AIRFLOW__DATABASE__SQL_ALCHEMY_CONN for PostgreSQL).
_cq_repo="$(cd "$(dirname "${BASH_SOURCE[0]:-$0}")/.." && pwd)"
export CARBONQA_HOME="${CARBONQA_HOME:-$_cq_repo/var}"
export CARBONQA_INBOX="${CARBONQA_INBOX:-$CARBONQA_HOME/inbox}"
export AIRFLOW_HOME="${AIRFLOW_HOME:-$_cq_repo/var/airflow}"
export AIRFLOW__CORE__DAGS_FOLDER="${AIRFLOW__CORE__DAGS_FOLDER:-$_cq_repo/dags}"
export AIRFLOW__CORE__LOAD_EXAMPLES="${AIRFLOW__CORE__LOAD_EXAMPLES:-False}"
# 2 cores shared: keep Airflow's own concurrency small (STACK.md).
export AIRFLOW__CORE__PARALLELISM="${AIRFLOW__CORE__PARALLELISM:-4}"
export AIRFLOW__CORE__MAX_ACTIVE_TASKS_PER_DAG="${AIRFLOW__CORE__MAX_ACTIVE_TASKS_PER_DAG:-4}"
export AIRFLOW__DAG_PROCESSOR__PARSING_PROCESSES="${AIRFLOW__DAG_PROCESSOR__PARSING_PROCESSES:-1}"
export AIRFLOW__CORE__DEFAULT_TIMEZONE="${AIRFLOW__CORE__DEFAULT_TIMEZONE:-Asia/Shanghai}"
# the venv's bin on PATH: Airflow starts sub-commands by name (STACK.md: standalone needs it)
case ":$PATH:" in *":$_cq_repo/.venv/bin:"*) ;; *) export PATH="$_cq_repo/.venv/bin:$PATH" ;; esac
mkdir -p "$AIRFLOW_HOME" "$CARBONQA_INBOX"
unset _cq_repo
