#!/usr/bin/env bash
# Install (if needed) and start a local PostgreSQL for the storage tests; prints the URL to use.
#   export UNSPIN_TEST_POSTGRES_URL=$(bash scripts/start-postgres.sh)
set -euo pipefail
if ! command -v pg_ctlcluster >/dev/null 2>&1; then
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql) >&2
fi
version=$(ls /usr/lib/postgresql | sort -V | tail -1)
if ! pg_lsclusters -h | grep -q "^${version} main"; then
  pg_createcluster "$version" main >&2
fi
pg_ctlcluster "$version" main start >&2 || true
for _ in $(seq 1 30); do
  if su postgres -c "psql -qAt -c 'select 1'" >/dev/null 2>&1; then break; fi
  sleep 1
done
su postgres -c "psql -qAt -c \"DO \\\$\\\$BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname='unspin') THEN CREATE ROLE unspin LOGIN SUPERUSER PASSWORD 'unspin'; END IF; END\\\$\\\$;\"" >&2
su postgres -c "psql -qAt -c \"SELECT 1 FROM pg_database WHERE datname='unspin_test'\"" | grep -q 1 \
  || su postgres -c "createdb -O unspin unspin_test" >&2
echo "postgresql://unspin:unspin@127.0.0.1:5432/unspin_test"
