#!/usr/bin/env bash
# The chat path, release build, same run: a routing decision over NATS, and
# /v1/chat/completions through the gateway against the inference host's zero-work endpoint
# called directly (concurrency 1 and 50). Starts its own inference host, registry, brain
# router and gateway on the local infrastructure; ends with one JSON line.
set -euo pipefail
cd "$(dirname "$0")/.."
bash deploy/local/infra.sh >/dev/null
cargo build --quiet --release -p radiant-bench --bin bench-chat-path \
  -p radiant-inference-host -p radiant-registry -p radiant-brain-router -p radiant-gateway --bins
target_dir=${CARGO_TARGET_DIR:-target}
"$target_dir/release/bench-chat-path" "$@"
