#!/usr/bin/env bash
# The inference host: SmolLM2 decode, time to first token, cold load, embeddings and upscaling,
# each beside its baseline (zero-work endpoint, Q4_1 weights as shipped, the image crate's
# Lanczos3), release build, same run. Ends with one JSON line.
set -euo pipefail
cd "$(dirname "$0")/.."
bash deploy/local/models.sh >&2
export RADIANT_INFERENCE_HOST__MODELS__DIR=${RADIANT_INFERENCE_HOST__MODELS__DIR:-$PWD/.run/models}
cargo build --quiet --release -p radiant-inference-host --bin inference-host
cargo run --quiet --release -p radiant-bench --bin bench-inference-host -- "$@"
