#!/usr/bin/env bash
# docker-entrypoint-initdb.d hook of the compose PostgreSQL: one database per service.
set -euo pipefail
# shellcheck disable=SC2086
bash /radiant/ensure-service-database.sh ${RADIANT_DATABASE_SERVICES:-}
