#!/usr/bin/env bash
# The registry: selection over the full imported catalogue (in memory, over NATS, and the
# seed's SQL query as the baseline), health events visible in the KV view, sustained event
# consumption (batched projector vs one transaction per event). Release build, same run; ends
# with one JSON line.
set -euo pipefail
cd "$(dirname "$0")/.."
bash deploy/local/infra.sh >&2
bash deploy/local/catalog.sh >&2
cargo build --quiet --release -p radiant-bench -p radiant-registry --bins
target_dir=${CARGO_TARGET_DIR:-target}
"$target_dir/release/bench-registry" "$@"
