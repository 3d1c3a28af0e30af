#!/usr/bin/env bash
# ensure-service-database.sh SERVICE...: for each service, the database radiant_<service> owned
# by radiant_<service>_owner (runs migrations) and the role radiant_<service>_app (what the
# service connects as: no BYPASSRLS, owns nothing). Idempotent. Connects with the usual libpq
# variables (PGHOST, PGPORT, PGUSER, PGPASSWORD) as a role that may create roles and databases.
# Role passwords: RADIANT_DB_PASSWORD_<SERVICE>_{OWNER,APP}. A new role without one gets its own
# name as password (development); an existing role's password changes only when one is given.
set -euo pipefail

for service_name in "$@"; do
  service=${service_name//-/_}
  database=radiant_$service
  owner=radiant_${service}_owner
  app=radiant_${service}_app
  upper=${service^^}
  owner_password_variable=RADIANT_DB_PASSWORD_${upper}_OWNER
  app_password_variable=RADIANT_DB_PASSWORD_${upper}_APP
  owner_password=${!owner_password_variable:-}
  app_password=${!app_password_variable:-}
  psql -v ON_ERROR_STOP=1 -qAt -d postgres \
    -v owner="$owner" -v app="$app" -v database="$database" \
    -v owner_password="$owner_password" -v app_password="$app_password" >/dev/null <<'SQL'
SELECT format('CREATE ROLE %I LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE PASSWORD %L',
              :'owner', coalesce(nullif(:'owner_password', ''), :'owner'))
WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = :'owner') \gexec
SELECT format('CREATE ROLE %I LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE PASSWORD %L',
              :'app', coalesce(nullif(:'app_password', ''), :'app'))
WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = :'app') \gexec
SELECT format('ALTER ROLE %I PASSWORD %L', :'owner', :'owner_password')
WHERE :'owner_password' <> '' \gexec
SELECT format('ALTER ROLE %I PASSWORD %L', :'app', :'app_password')
WHERE :'app_password' <> '' \gexec
SELECT format('CREATE DATABASE %I OWNER %I', :'database', :'owner')
WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = :'database') \gexec
SELECT format('REVOKE ALL ON DATABASE %I FROM PUBLIC', :'database') \gexec
SELECT format('GRANT CONNECT, TEMPORARY ON DATABASE %I TO %I', :'database', :'app') \gexec
SQL
  psql -v ON_ERROR_STOP=1 -qAt -d "$database" -v owner="$owner" -v app="$app" >/dev/null <<'SQL'
SELECT format('GRANT ALL ON SCHEMA public TO %I', :'owner') \gexec
SELECT format('GRANT USAGE ON SCHEMA public TO %I', :'app') \gexec
-- Under row level security PostgreSQL uses an index only for conditions whose function is
-- LEAKPROOF (it cannot leak rows the policy hides); tsvector @@ tsquery is not marked so, which
-- makes every full-text search scan the tenant's whole table. It raises no errors that depend
-- on the data, so it is marked here (per database, superuser only).
ALTER FUNCTION pg_catalog.ts_match_vq(tsvector, tsquery) LEAKPROOF;
SQL
  echo "database $database ready (owner $owner, service role $app)"
done
