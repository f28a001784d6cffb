#!/usr/bin/env bash
# Services the sink tests need (tests/write/test_postgres*.py, test_influx*.py):
#  - PostgreSQL at 127.0.0.1:5432 (user postgres, trust auth): started if it is down;
#  - the influxd binary (Debian package influxdb 1.6): installed if missing. The tests start
#    their own influxd on a free port with a temporary data directory.
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

if ! command -v influxd >/dev/null 2>&1; then
    echo "services: installing influxdb (Debian package)" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null
    apt-get install -y -qq influxdb >/dev/null
fi
# the package's own service is not needed (the tests start theirs): keep it off port 8086
if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet influxdb 2>/dev/null; then
    systemctl stop influxdb >/dev/null 2>&1 || true
fi
