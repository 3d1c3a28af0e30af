#!/usr/bin/env bash
# The time machine: message saves with their snapshots at 10 and 10,000 messages, as-of views,
# full and single-message restores, and search over 1,000,000 message versions, each beside
# the seeds' algorithm on the same database. Release build, same run; ends with one JSON line.
set -euo pipefail
cd "$(dirname "$0")/.."
bash deploy/local/infra.sh >&2
cargo build --quiet --release -p radiant-bench -p radiant-time-machine --bins
target_dir=${CARGO_TARGET_DIR:-target}
"$target_dir/release/bench-time-machine" "$@"
