#!/usr/bin/env bash
# Services the tests need:
#  - PostgreSQL at 127.0.0.1:5432 (user postgres, trust auth): started if it is down
#    (tests/write/test_postgres*.py);
#  - the influxd binary (Debian package influxdb 1.6) and the prometheus binary (Debian
#    package prometheus): installed if missing. The tests start their own servers on free
#    ports with temporary data directories (tests/write/test_influx*.py,
#    tests/runtime/test_metrics.py).
# Idempotent, quiet, and fast when everything is already there.
set -euo pipefail

pg_ready() { pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; }

if ! command -v pg_isready >/dev/null 2>&1; then
    echo "services: PostgreSQL client tools missing (apt-get install postgresql)" >&2
elif ! pg_ready; then
    echo "services: starting PostgreSQL" >&2
    if command -v pg_lsclusters >/dev/null 2>&1; then
        pg_lsclusters --no-header | while read -r ver cluster _; do
            pg_ctlcluster "$ver" "$cluster" start >/dev/null 2>&1 || true
        done
    fi
    pg_ready || service postgresql start >/dev/null 2>&1 || true
    for _ in $(seq 1 30); do pg_ready && break; sleep 0.5; done
    pg_ready || { echo "services: PostgreSQL did not start" >&2; exit 1; }
fi

missing=()
command -v influxd >/dev/null 2>&1 || missing+=(influxdb)
command -v prometheus >/dev/null 2>&1 || missing+=(prometheus)
if [ ${#missing[@]} -gt 0 ]; then
    echo "services: installing ${missing[*]} (Debian packages)" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null
    apt-get install -y -qq "${missing[@]}" >/dev/null
fi
# Debian's prometheus package may start its own server on :9090; the tests need none
if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet prometheus 2>/dev/null; then
    systemctl stop prometheus >/dev/null 2>&1 || true
fi
# the package's own service is not needed (the tests start theirs): keep it off port 8086
if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet influxdb 2>/dev/null; then
    systemctl stop influxdb >/dev/null 2>&1 || true
fi
