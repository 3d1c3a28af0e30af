#!/usr/bin/env bash
# Shared settings and helpers of the local stack scripts. Every value can be overridden from
# the environment; the defaults are the embedded defaults of the services' configuration.
set -euo pipefail

RADIANT_REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
RADIANT_STATE_DIR=${RADIANT_STATE_DIR:-$RADIANT_REPO/.run}
RADIANT_LOG_DIR=$RADIANT_STATE_DIR/logs
RADIANT_PID_DIR=$RADIANT_STATE_DIR/pids
RADIANT_VENV=${RADIANT_VENV:-$RADIANT_STATE_DIR/venv}

NATS_SERVER_VERSION=2.12.8
MOTO_VERSION=5.1.22

NATS_HOST=127.0.0.1
NATS_PORT=${RADIANT_LOCAL_NATS_PORT:-4223}
NATS_MONITOR_PORT=${RADIANT_LOCAL_NATS_MONITOR_PORT:-8223}
NATS_STORE_DIR=$RADIANT_STATE_DIR/nats
# what deploy/nats/nats-server.conf sets; a running server with less is restarted
NATS_MIN_MAX_PAYLOAD=2097152
PG_HOST=127.0.0.1
PG_PORT=${RADIANT_LOCAL_PG_PORT:-5432}
PG_ADMIN_USER=postgres
PG_ADMIN_PASSWORD=${RADIANT_LOCAL_PG_ADMIN_PASSWORD:-postgres}
S3_PORT=${RADIANT_LOCAL_S3_PORT:-9000}
S3_BUCKET=${RADIANT_LOCAL_S3_BUCKET:-radiant-media}
GATEWAY_HTTP_PORT=${RADIANT_LOCAL_GATEWAY_HTTP_PORT:-8080}
GATEWAY_GRPC_PORT=${RADIANT_LOCAL_GATEWAY_GRPC_PORT:-50051}
INFERENCE_HOST_PORT=${RADIANT_LOCAL_INFERENCE_HOST_PORT:-8090}
RADIANT_MODELS_DIR=${RADIANT_MODELS_DIR:-$RADIANT_STATE_DIR/models}
# the registry's external catalogue (the models.dev snapshot, installed by catalog.sh)
RADIANT_CATALOG_FILE=${RADIANT_CATALOG_FILE:-$RADIANT_STATE_DIR/catalog/models-dev.sqlite}

# every service binary the stack starts, in start order; later issues append theirs
RADIANT_SERVICES=(inference-host media-vault registry time-machine brain-router gateway)
# services reached over HTTP only, not over NATS (the gateway's readiness does not wait for them;
# up.sh waits for their /ping); they stand in for cloud services, so Kubernetes does not run them
RADIANT_HTTP_ONLY_SERVICES=(inference-host)
# services that own a PostgreSQL database (radiant_<name with _>), with owner and app roles
RADIANT_DATABASE_SERVICES=(media-vault registry time-machine brain-router)

export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$RADIANT_REPO/target}

mkdir -p "$RADIANT_LOG_DIR" "$RADIANT_PID_DIR"

log() { printf '\033[1;34m[radiant]\033[0m %s\n' "$*" >&2; }
die() { printf '\033[1;31m[radiant] error:\033[0m %s\n' "$*" >&2; exit 1; }

port_open() { (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; }

wait_for_port() {
  local host=$1 port=$2 what=$3 tries=${4:-100}
  for _ in $(seq "$tries"); do
    port_open "$host" "$port" && return 0
    sleep 0.2
  done
  die "$what did not open $host:$port (see $RADIANT_LOG_DIR)"
}

pid_alive() { pid_of "$1" >/dev/null; }

# start_process NAME COMMAND...: runs COMMAND in the background with its output in the log folder;
# the pid file also records the program, so a later stop never hits a process that reused the pid
start_process() {
  local name=$1; shift
  nohup "$@" >>"$RADIANT_LOG_DIR/$name.log" 2>&1 &
  printf '%s %s\n' $! "$(basename "$1")" >"$RADIANT_PID_DIR/$name.pid"
}

# pid_of NAME: the recorded pid, if that process still runs the recorded program
pid_of() {
  local pid program
  [ -f "$RADIANT_PID_DIR/$1.pid" ] || return 1
  read -r pid program <"$RADIANT_PID_DIR/$1.pid" || return 1
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 1
  [ -z "$program" ] || tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q -- "$program" || return 1
  echo "$pid"
}

stop_process() {
  local name=$1 pid
  [ -f "$RADIANT_PID_DIR/$name.pid" ] || return 0
  if pid=$(pid_of "$name"); then
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    ! kill -0 "$pid" 2>/dev/null || kill -9 "$pid" 2>/dev/null || true
    log "stopped $name (pid $pid)"
  fi
  rm -f "$RADIANT_PID_DIR/$name.pid"
}

apt_install() {
  command -v apt-get >/dev/null || die "apt-get is not available to install: $*"
  local sudo=""
  [ "$(id -u)" -eq 0 ] || sudo=sudo
  log "installing Debian packages: $*"
  $sudo apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "$@" >/dev/null
}

psql_admin() {
  PGPASSWORD=$PG_ADMIN_PASSWORD psql -v ON_ERROR_STOP=1 -qAt -h "$PG_HOST" -p "$PG_PORT" -U "$PG_ADMIN_USER" "$@"
}
