#!/usr/bin/env bash
# Brings the whole platform up on this machine with the embedded defaults and shows it working:
# infrastructure (infra.sh), then every service binary built and started, waited for, and
# exercised through the gateway. Idempotent: infrastructure that runs is kept, services are
# restarted on the fresh build. Stop with deploy/local/down.sh; logs are in .run/logs.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

bash "$RADIANT_REPO/deploy/local/infra.sh"
bash "$RADIANT_REPO/deploy/local/models.sh"
bash "$RADIANT_REPO/deploy/local/catalog.sh"

command -v cargo >/dev/null || die "cargo is required (https://rustup.rs)"
profile=${RADIANT_BUILD_PROFILE:-dev}
profile_dir=$([ "$profile" = dev ] && echo debug || echo "$profile")
log "building the service binaries ($profile profile)"
(cd "$RADIANT_REPO" && cargo build --profile "$profile" $(printf -- '-p radiant-%s ' "${RADIANT_SERVICES[@]}") --bins) \
  || die "build failed"
bin_dir=$CARGO_TARGET_DIR/$profile_dir

# services on NATS other than the gateway must answer $SRV.PING for the gateway to be ready
required_services=$(printf "%s\n" "${RADIANT_SERVICES[@]}" \
  | { grep -vx -e gateway $(printf -- '-e %s ' "${RADIANT_HTTP_ONLY_SERVICES[@]}") || true; } | paste -sd, -)

export RADIANT_ENVIRONMENT=local
export RADIANT_NATS__URL="nats://$NATS_HOST:$NATS_PORT"
export RADIANT_GATEWAY__HTTP__PORT=$GATEWAY_HTTP_PORT
export RADIANT_GATEWAY__GRPC__PORT=$GATEWAY_GRPC_PORT
export RADIANT_GATEWAY__READINESS__REQUIRED_SERVICES=$required_services
export RADIANT_MEDIA_VAULT__S3__ENDPOINT="http://127.0.0.1:$S3_PORT"
export RADIANT_MEDIA_VAULT__S3__BUCKET=$S3_BUCKET
export RADIANT_INFERENCE_HOST__HTTP__PORT=$INFERENCE_HOST_PORT
export RADIANT_REGISTRY__CATALOGUE__MODELS_DEV_FILE=$RADIANT_CATALOG_FILE
export RADIANT_REGISTRY__CATALOGUE__INFERENCE_HOST_URL="http://127.0.0.1:$INFERENCE_HOST_PORT"
export RADIANT_INFERENCE_HOST__MODELS__DIR=$RADIANT_MODELS_DIR

for service in "${RADIANT_SERVICES[@]}"; do
  stop_process "$service"
done
for service in "${RADIANT_SERVICES[@]}"; do
  log "starting $service"
  start_process "$service" "$bin_dir/$service"
done

log "waiting for the inference host"
for _ in $(seq 150); do
  pid_alive inference-host || die "inference-host exited during start-up: see $RADIANT_LOG_DIR/inference-host.log"
  curl -fsS "http://127.0.0.1:$INFERENCE_HOST_PORT/ping" >/dev/null 2>&1 && break
  sleep 0.2
done
curl -fsS "http://127.0.0.1:$INFERENCE_HOST_PORT/ping" >/dev/null || die "the inference host did not answer /ping"

log "waiting for the gateway to be ready"
ready=""
for _ in $(seq 150); do
  for service in "${RADIANT_SERVICES[@]}"; do
    pid_alive "$service" || die "$service exited during start-up: see $RADIANT_LOG_DIR/$service.log"
  done
  if curl -fsS "http://127.0.0.1:$GATEWAY_HTTP_PORT/readyz" >/dev/null 2>&1; then ready=yes; break; fi
  sleep 0.2
done
[ -n "$ready" ] || { curl -sS "http://127.0.0.1:$GATEWAY_HTTP_PORT/readyz" || true; die "the gateway did not become ready"; }

# show it working: a dev token, the caller's context, the running services, one status over NATS
tenant=00000000-0000-4000-8000-000000000001
token=$("$bin_dir/gateway" mint-token --sub demo-admin --tenant "$tenant" --tier pro --role admin --ttl-seconds 3600)
api() { curl -fsS -H "authorization: Bearer $token" "http://127.0.0.1:$GATEWAY_HTTP_PORT$1"; }
pretty() { "$RADIANT_VENV/bin/python" -m json.tool; }
echo
log "GET /readyz"
curl -fsS "http://127.0.0.1:$GATEWAY_HTTP_PORT/readyz" | pretty
log "GET /api/v1/me"
api /api/v1/me | pretty
log "GET /api/v1/admin/services (NATS micro discovery)"
api /api/v1/admin/services | pretty
log "GET /api/v1/admin/services/gateway/status (forwarded over NATS)"
api /api/v1/admin/services/gateway/status | pretty
log "GET /api/v1/admin/services/media-vault/status (database and versioned bucket checks)"
api /api/v1/admin/services/media-vault/status | pretty
log "POST /api/v1/media/files (a small file: hashed, stored in versioned S3, deduplicated)"
stored=$(curl -fsS -H "authorization: Bearer $token" -H 'content-type: text/plain' \
  --data-binary "hello from $(hostname) at $(date -u +%FT%TZ)" \
  "http://127.0.0.1:$GATEWAY_HTTP_PORT/api/v1/media/files?scope=chat:demo&name=hello.txt")
echo "$stored" | pretty
file_id=$(echo "$stored" | "$RADIANT_VENV/bin/python" -c 'import json,sys; print(json.load(sys.stdin)["file_id"])')
log "GET /api/v1/media/files/$file_id/content (307 to a presigned URL of that exact S3 version)"
curl -fsSL -H "authorization: Bearer $token" "http://127.0.0.1:$GATEWAY_HTTP_PORT/api/v1/media/files/$file_id/content"
echo
log "GET /api/v1/media/files/$file_id/versions"
api "/api/v1/media/files/$file_id/versions" | pretty

log "time machine: a chat, three messages, an edit, a restore and its undo"
gw="http://127.0.0.1:$GATEWAY_HTTP_PORT"
json() { "$RADIANT_VENV/bin/python" -c "import json,sys; d=json.load(sys.stdin); print($1)"; }
send() { curl -fsS -H "authorization: Bearer $token" -H 'content-type: application/json' -X "$1" -d "$3" "$gw$2"; }
chat_id=$(send POST /api/chats '{"title":"Demo: capitals"}' | json 'd["chat_id"]')
send POST "/api/chats/$chat_id/messages" '{"role":"user","content":"What is the capital of France?"}' >/dev/null
answer=$(send POST "/api/chats/$chat_id/messages" '{"role":"assistant","content":"Paris.","metadata":{"model_id":"smollm2-135m-instruct","input_tokens":12,"output_tokens":3}}')
answer_id=$(echo "$answer" | json 'd["message"]["message_id"]')
before_edit=$(echo "$answer" | json 'd["snapshot"]["snapshot_id"]')
send POST "/api/chats/$chat_id/messages" '{"role":"user","content":"And of Italy?"}' >/dev/null
send PATCH "/api/chats/$chat_id/messages/$answer_id" '{"content":"Paris, on the Seine.","reason":"more detail"}' >/dev/null
tm="/api/thinktank/chats/$chat_id/time-machine"
log "GET $tm (the timeline: every change is a snapshot with a hash-chained checksum)"
api "$tm?order=asc" | json 'json.dumps([{k: s[k] for k in ("version","trigger","message_count","checksum")} for s in d["snapshots"]], indent=2)'
log "GET $tm/snapshots/{version 2} (the chat as it was then)"
api "$tm/snapshots/$before_edit" | json 'json.dumps([m["role"]+": "+m["content"] for m in d["messages"]], indent=2)'
log "POST $tm/restore {version 2} (new versions; history untouched)"
restored=$(send POST "$tm/restore" "{\"snapshot_id\":\"$before_edit\",\"reason\":\"demo\"}")
echo "$restored" | json 'json.dumps({k: d[k] for k in ("new_version","messages_restored","messages_removed","previous_snapshot_id")}, indent=2)'
log "GET $tm/compare?from={before the restore} (what the restore changed)"
api "$tm/compare?from=$(echo "$restored" | json 'd["previous_snapshot_id"]')" | json 'd["summary"]'
log "POST $tm/restore {the snapshot before the restore} (undo)"
send POST "$tm/restore" "{\"snapshot_id\":\"$(echo "$restored" | json 'd["previous_snapshot_id"]')\"}" | json '"now at version %d" % d["new_version"]'
log "GET /api/thinktank/search?q=seine (every version of every message, ranked)"
api "/api/thinktank/search?q=seine" | json 'json.dumps([{k: h[k] for k in ("snippet","version","is_current","snapshot_version")} for h in d["messages"]], indent=2)'
log "GET /api/ai/chats/$chat_id/history/summary"
api "/api/ai/chats/$chat_id/history/summary" | json 'd["summary"]'
log "GET $tm/verify (the hash chain and running counts recomputed)"
api "$tm/verify" | json 'json.dumps({k: d[k] for k in ("ok","snapshots_checked","versions_checked","detail")})'

host="http://127.0.0.1:$INFERENCE_HOST_PORT"
log "POST $host/v1/chat/completions (SmolLM2-135M-Instruct on the inference host, loaded on first use)"
curl -fsS "$host/v1/chat/completions" -H 'content-type: application/json' \
  -d '{"model":"smollm2-135m-instruct","messages":[{"role":"user","content":"What is the capital of France?"}],"max_tokens":32,"temperature":0}' \
  | "$RADIANT_VENV/bin/python" -c 'import json,sys; b=json.load(sys.stdin); print(json.dumps({"answer": b["choices"][0]["message"]["content"], "usage": b["usage"], "timings": b["timings"]}, indent=2))'
log "POST $host/v1/embeddings (all-MiniLM-L6-v2): cosine of two sentences"
curl -fsS "$host/v1/embeddings" -H 'content-type: application/json' \
  -d '{"model":"all-minilm-l6-v2","input":["A man is eating food.","A man is eating a piece of bread."]}' \
  | "$RADIANT_VENV/bin/python" -c 'import json,sys; d=json.load(sys.stdin)["data"]; a,b=d[0]["embedding"],d[1]["embedding"]; print("cosine %.3f" % sum(x*y for x,y in zip(a,b)))'
log "GET $host/endpoints/smollm2-135m-instruct (SageMaker-style lifecycle)"
curl -fsS "$host/endpoints/smollm2-135m-instruct" | pretty

log "registry: waiting for the models.dev catalogue import (a full sync at first start)"
for _ in $(seq 300); do
  api "/api/v2/admin/registry/sync/history?sync_type=full&limit=1" \
    | "$RADIANT_VENV/bin/python" -c 'import json,sys; r=json.load(sys.stdin)["runs"]; sys.exit(0 if r and r[0]["status"]!="running" else 1)' \
    && break
  sleep 0.5
done
api "/api/v2/admin/registry/sync/history?sync_type=full&limit=1" \
  | "$RADIANT_VENV/bin/python" -c 'import json,sys; r=json.load(sys.stdin)["runs"][0]; print(json.dumps({k: r[k] for k in ("status","models_added","providers_updated","duration_ms","started_at")}, indent=2))'
for sync_type in health thermal; do
  log "POST /api/v2/admin/registry/sync {\"sync_type\":\"$sync_type\",\"wait\":true} (observations published, projected into the KV view)"
  for _ in $(seq 20); do
    out=$(curl -sS -H "authorization: Bearer $token" -H 'content-type: application/json' \
      -d "{\"sync_type\":\"$sync_type\",\"wait\":true}" "http://127.0.0.1:$GATEWAY_HTTP_PORT/api/v2/admin/registry/sync")
    echo "$out" | grep -q 'already running' || break
    sleep 1
  done
  echo "$out" | "$RADIANT_VENV/bin/python" -c 'import json,sys; r=json.load(sys.stdin); print(json.dumps({k: r.get(k) for k in ("sync_type","status","checked","duration_ms")}))'
done
sleep 1
log "GET /api/v2/admin/registry/stats"
api /api/v2/admin/registry/stats | "$RADIANT_VENV/bin/python" -c '
import json,sys; s=json.load(sys.stdin); c=lambda k: {e["key"]: e["count"] for e in s[k]}
print(json.dumps({"total_models": s["total_models"], "providers": s["providers"], "by_hosting": c("by_hosting"), "by_health": c("by_health"), "by_thermal": c("by_thermal"), "workflows": s["workflows"]}, indent=2))'
log "POST /api/v2/registry/select {mode: chat} (in-memory catalogue, live health and thermal state)"
curl -fsS -H "authorization: Bearer $token" -H 'content-type: application/json' -d '{"mode":"chat","limit":3}' \
  "http://127.0.0.1:$GATEWAY_HTTP_PORT/api/v2/registry/select" \
  | "$RADIANT_VENV/bin/python" -c 'import json,sys; s=json.load(sys.stdin); print(json.dumps({"catalogue_size": s["catalogue_size"], "eligible": s["eligible"], "excluded_unhealthy": s["excluded_unhealthy"], "candidates": [c["model_id"]+": "+c["reason"] for c in s["candidates"]]}, indent=2))'
log "GET /api/v2/admin/models/licenses/summary"
api /api/v2/admin/models/licenses/summary \
  | "$RADIANT_VENV/bin/python" -c 'import json,sys; s=json.load(sys.stdin); print(json.dumps({k: s[k] for k in ("total","commercial_ok","review_needed","non_compliant","expiring_within_30_days")}))'

log "POST /api/chat {model: auto} (routed by the brain router, answered by SmolLM2 on the inference host, streamed as SSE, saved in the time machine)"
curl -fsS -N -H "authorization: Bearer $token" -H 'content-type: application/json' \
  -d '{"messages":[{"role":"user","content":"What is the capital of France? Answer in one sentence."}],"model":"auto","max_tokens":48,"temperature":0}' \
  "http://127.0.0.1:$GATEWAY_HTTP_PORT/api/chat" | "$RADIANT_VENV/bin/python" -c '
import json,sys
event=None; answer=""
for line in sys.stdin:
    line=line.rstrip("\n")
    if line.startswith("event: "): event=line[7:]
    elif line.startswith("data: "):
        d=json.loads(line[6:])
        if event=="started": print("routed to %s: %s" % (d["model_id"], d["reason"])); chat=d["chat_id"]
        elif event=="delta": answer+=d["text"]
        elif event=="done": print(json.dumps({"answer": answer.strip(), "model": d["model_id"], "usage": d["usage"], "time_to_first_token_ms": round(d["time_to_first_token_ms"]), "saved_message_id": d["message_id"]}, indent=2))
        elif event=="error": sys.exit("chat failed: %s" % d)
'
log "POST /v1/chat/completions {model: auto} (the OpenAI-compatible API)"
curl -fsS -H "authorization: Bearer $token" -H 'content-type: application/json' \
  -d '{"model":"auto","messages":[{"role":"user","content":"Name one planet."}],"max_tokens":16,"temperature":0}' \
  "http://127.0.0.1:$GATEWAY_HTTP_PORT/v1/chat/completions" \
  | "$RADIANT_VENV/bin/python" -c 'import json,sys; b=json.load(sys.stdin); print(json.dumps({"model": b["model"], "answer": b["choices"][0]["message"]["content"], "usage": b["usage"]}, indent=2))'
log "POST /api/v2/auto-resolve (which model would answer, why, at what cost)"
curl -fsS -H "authorization: Bearer $token" -H 'content-type: application/json' \
  -d '{"prompt":"Write a haiku about the sea","preferences":{"maxCost":0.01}}' \
  "http://127.0.0.1:$GATEWAY_HTTP_PORT/api/v2/auto-resolve" \
  | "$RADIANT_VENV/bin/python" -c 'import json,sys; d=json.load(sys.stdin); print(json.dumps({k: d[k] for k in ("model","provider","reason","estimatedCost","taskType")}, indent=2))'

cat <<EOF

RADIANT is up.
  gateway HTTP   http://127.0.0.1:$GATEWAY_HTTP_PORT   (OpenAPI: /openapi.json)
  gateway gRPC   127.0.0.1:$GATEWAY_GRPC_PORT          (health + reflection)
  NATS           nats://$NATS_HOST:$NATS_PORT  (JetStream; monitor http://$NATS_HOST:$NATS_MONITOR_PORT)
  PostgreSQL     $PG_HOST:$PG_PORT
  S3 (moto)      http://127.0.0.1:$S3_PORT  bucket $S3_BUCKET (versioned)
  inference host http://127.0.0.1:$INFERENCE_HOST_PORT  (SageMaker /endpoints/{name}/invocations, OpenAI /v1/...)
  services       ${RADIANT_SERVICES[*]}
  logs           $RADIANT_LOG_DIR
  dev token      $bin_dir/gateway mint-token --sub you --tenant $tenant --role admin
  stop           deploy/local/down.sh
EOF
