#!/usr/bin/env bash
# The media vault against its S3 server: upload session vs direct multipart upload, deduplicated
# upload latency, streaming SHA-256 throughput. Release build, same run; ends with one JSON line.
set -euo pipefail
cd "$(dirname "$0")/.."
bash deploy/local/infra.sh >&2
cargo build --quiet --release -p radiant-bench -p radiant-media-vault --bins
target_dir=${CARGO_TARGET_DIR:-target}
"$target_dir/release/bench-media-vault" "$@"
