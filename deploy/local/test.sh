#!/usr/bin/env bash
# Runs every test of the workspace against the real local infrastructure (started if needed).
# Installs what it needs: the infrastructure (infra.sh) and cargo-nextest.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

command -v cargo >/dev/null || die "cargo is required (https://rustup.rs)"
if ! cargo nextest --version >/dev/null 2>&1; then
  log "installing cargo-nextest"
  cargo install --locked cargo-nextest
fi
bash "$RADIANT_REPO/deploy/local/infra.sh"
bash "$RADIANT_REPO/deploy/local/models.sh"
bash "$RADIANT_REPO/deploy/local/catalog.sh"
bash "$RADIANT_REPO/deploy/check.sh"
cd "$RADIANT_REPO"
cargo nextest run --workspace --no-fail-fast "$@"
