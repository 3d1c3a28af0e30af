#!/usr/bin/env bash
# NATS request/reply: service kit vs raw async-nats, release build, same run.
set -euo pipefail
cd "$(dirname "$0")/.."
bash deploy/local/infra.sh >&2
cargo run --quiet --release -p radiant-bench --bin bench-bus-rpc -- "$@"
