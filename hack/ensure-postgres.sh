#!/usr/bin/env bash
# Makes sure a PostgreSQL server answers on 127.0.0.1:5432 for the integration
# tests (CI exports DATABASE_URL to it). Starts the machine's cluster when it is
# installed but stopped; installs Debian's postgresql package when it is missing.
# Prints the DATABASE_URL to use on stdout.
set -euo pipefail
url="${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/test}"
ready() { pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; }

if ! command -v pg_isready >/dev/null || ! ls /etc/postgresql/*/main >/dev/null 2>&1; then
  echo "ensure-postgres: installing PostgreSQL from Debian packages" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2 && apt-get install -y -qq postgresql >&2
fi
if ! ready; then
  echo "ensure-postgres: starting the local PostgreSQL cluster" >&2
  ver=$(ls /etc/postgresql | sort -V | tail -n1)
  pg_ctlcluster --skip-systemctl-redirect "$ver" main start >&2 || true
  for _ in $(seq 1 60); do ready && break; sleep 0.5; done
fi
ready || { echo "ensure-postgres: PostgreSQL does not answer on 127.0.0.1:5432" >&2; exit 1; }
# A freshly installed server has peer auth and no `test` database: make both match the machine's setup.
if ! psql "$url" -c 'select 1' >/dev/null 2>&1; then
  echo "ensure-postgres: preparing role/database for $url" >&2
  hba=$(ls /etc/postgresql/*/main/pg_hba.conf | sort -V | tail -n1)
  if ! grep -q '^host all all 127.0.0.1/32 trust' "$hba"; then
    sed -i '1i host all all 127.0.0.1/32 trust' "$hba"
    ver=$(ls /etc/postgresql | sort -V | tail -n1)
    pg_ctlcluster --skip-systemctl-redirect "$ver" main reload >&2
  fi
  psql -h 127.0.0.1 -U postgres -d postgres -tAc "select 1 from pg_database where datname='test'" | grep -q 1 ||
    psql -h 127.0.0.1 -U postgres -d postgres -c 'create database test' >&2
fi
echo "$url"
