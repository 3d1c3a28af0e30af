#!/usr/bin/env bash
# Lints the deployment files without a Docker engine or a cluster:
# - docker-compose.yml against the compose specification's JSON schema (the one the
#   docker-compose 1.29.2 wheel ships), and every stack service present in it;
# - the Kubernetes manifests rendered with `kubectl kustomize` (when kubectl is installed), and
#   a Deployment for every stack service.
source "$(dirname "${BASH_SOURCE[0]}")/local/lib.sh"

[ -x "$RADIANT_VENV/bin/python" ] || bash "$RADIANT_REPO/deploy/local/infra.sh" >/dev/null
schema_dir=$RADIANT_STATE_DIR/cache/compose-schema
if [ ! -f "$schema_dir/compose_spec.json" ]; then
  mkdir -p "$schema_dir"
  "$RADIANT_VENV/bin/pip" download -q --disable-pip-version-check --no-deps -d "$schema_dir" docker-compose==1.29.2
  "$RADIANT_VENV/bin/python" - "$schema_dir" <<'PY'
import pathlib, sys, zipfile
folder = pathlib.Path(sys.argv[1])
wheel = next(folder.glob("docker_compose-*.whl"))
with zipfile.ZipFile(wheel) as archive:
    (folder / "compose_spec.json").write_bytes(archive.read("compose/config/compose_spec.json"))
PY
fi

rendered=""
if command -v kubectl >/dev/null; then
  rendered=$(kubectl kustomize "$RADIANT_REPO/deploy/k8s")
else
  log "kubectl is not installed: Kubernetes manifests not rendered"
fi

RENDERED_K8S=$rendered LOCAL_ONLY="${RADIANT_HTTP_ONLY_SERVICES[*]}" "$RADIANT_VENV/bin/python" - "$RADIANT_REPO" "$schema_dir/compose_spec.json" "${RADIANT_SERVICES[@]}" <<'PY'
import json, os, pathlib, sys
import jsonschema, yaml

repo, schema_path, services = pathlib.Path(sys.argv[1]), sys.argv[2], sys.argv[3:]
# stand-ins for cloud services (the inference host for SageMaker) run locally and in compose only
local_only = set(os.environ.get("LOCAL_ONLY", "").split())
problems = []

compose = yaml.safe_load((repo / "docker-compose.yml").read_text())
validator = jsonschema.Draft7Validator(json.load(open(schema_path)))
schema_errors = sorted(validator.iter_errors(compose), key=lambda error: list(map(str, error.path)))
for error in schema_errors:
    problems.append(f"docker-compose.yml {'/'.join(map(str, error.path)) or '(top level)'}: {error.message}")
for service in services:
    if service not in compose.get("services", {}):
        problems.append(f"docker-compose.yml has no service {service}")
    elif compose["services"][service].get("build", {}).get("args", {}).get("SERVICE") != service:
        problems.append(f"docker-compose.yml service {service} does not build SERVICE={service}")

rendered = os.environ.get("RENDERED_K8S", "")
if rendered:
    documents = [document for document in yaml.safe_load_all(rendered) if document]
    deployments = {document["metadata"]["name"] for document in documents if document["kind"] == "Deployment"}
    for service in services:
        if service not in deployments and service not in local_only:
            problems.append(f"deploy/k8s has no Deployment {service}")
    print(f"kubernetes: {len(documents)} objects rendered, deployments: {sorted(deployments)}")

print(f"compose: {len(compose['services'])} services, {len(schema_errors)} schema errors")
if problems:
    print("\n".join(problems), file=sys.stderr)
    sys.exit(1)
print("deployment files are consistent")
PY
