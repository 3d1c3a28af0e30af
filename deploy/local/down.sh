#!/usr/bin/env bash
# Stops what deploy/local/up.sh started: the services, then (unless --keep-infra) the NATS and
# S3 servers. The machine's PostgreSQL is left running. JetStream data stays in .run/nats.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

for (( index=${#RADIANT_SERVICES[@]}-1; index>=0; index-- )); do
  stop_process "${RADIANT_SERVICES[$index]}"
done
if [ "${1:-}" != "--keep-infra" ]; then
  stop_process s3
  stop_process nats
fi
log "stopped"
