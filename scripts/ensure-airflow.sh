#!/usr/bin/env bash
# Real Apache Airflow for tests/integrations/test_airflow_real.py, in a virtualenv of its own: Airflow's
# pins (SQLAlchemy, pendulum, FastAPI ...) are not ours, so it never shares .venv. Cached: the venv is
# built once per Airflow version and Python, then reused; this checkout's plugin (plugins/airflow) is
# reinstalled into it on every run (under a second), so the tests load the plugin being tested.
#
# Pins: Airflow's official constraints file for the version when it can be fetched, else
# scripts/airflow-constraints-<version>-py<python>.txt (the set resolved and tested here).
# Prints the venv path on its last line. Override the place with SIGNAL_FACTORY_AIRFLOW_VENV.
set -euo pipefail

AIRFLOW_VERSION=3.1.8
UV_VERSION=0.13.9
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PYTHON="${AIRFLOW_PYTHON:-python3}"
PYV="$("$PYTHON" -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')"
VENV="${SIGNAL_FACTORY_AIRFLOW_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/signal-factory/airflow-$AIRFLOW_VERSION-py$PYV}"
STAMP="$VENV/.installed-$AIRFLOW_VERSION"
LOCAL_PINS="$ROOT/scripts/airflow-constraints-$AIRFLOW_VERSION-py$PYV.txt"
OFFICIAL="https://raw.githubusercontent.com/apache/airflow/constraints-$AIRFLOW_VERSION/constraints-$PYV.txt"

if [[ ! -f "$STAMP" ]]; then
  started=$SECONDS
  rm -rf "$VENV"
  mkdir -p "$(dirname "$VENV")"
  "$PYTHON" -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check "uv==$UV_VERSION"  # resolves ~130 wheels in seconds
  pins="$(mktemp)"
  trap 'rm -f "$pins"' EXIT
  if curl -fsSL --max-time 10 "$OFFICIAL" -o "$pins" 2>/dev/null; then
    echo "ensure-airflow: using Airflow's constraints for $AIRFLOW_VERSION / Python $PYV"
  elif [[ -f "$LOCAL_PINS" ]]; then
    echo "ensure-airflow: Airflow's constraints file is unreachable; using $(basename "$LOCAL_PINS")"
    cp "$LOCAL_PINS" "$pins"
  else
    echo "ensure-airflow: no constraints for Python $PYV (unreachable: $OFFICIAL; missing: $LOCAL_PINS);" \
         "set AIRFLOW_PYTHON to a Python 3.11" >&2
    exit 1
  fi
  "$VENV/bin/uv" pip install --quiet --python "$VENV/bin/python" "apache-airflow==$AIRFLOW_VERSION" -c "$pins"
  "$VENV/bin/airflow" version >/dev/null 2>&1 || { echo "ensure-airflow: airflow does not start in $VENV" >&2; exit 1; }
  touch "$STAMP"
  echo "ensure-airflow: installed apache-airflow $AIRFLOW_VERSION in $((SECONDS - started)) s"
fi

"$VENV/bin/uv" pip install --quiet --python "$VENV/bin/python" --no-deps --reinstall "$ROOT/plugins/airflow"
echo "$VENV"
