#!/usr/bin/env bash
# The brain router's decision in process over 100 candidates beside the seeds' scoring, release
# build, same run; ends with one JSON line. (The NATS round trip comes with the service.)
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --quiet --release -p radiant-bench --bin bench-brain-router
target_dir=${CARGO_TARGET_DIR:-target}
"$target_dir/release/bench-brain-router" "$@"
