-- The registry: providers, models (external and self-hosted in one table), their licenses and
-- dependencies, workflows, the audit log, sync runs, live-state history and projections, and
-- encrypted provider credentials. Nothing here is tenant data: the catalogue is the platform's.
-- The service role may SELECT/INSERT/UPDATE only: nothing is deleted; status columns say what
-- happened (disabled, deprecated, deleted_at, revoked_at).

CREATE TABLE providers (
    provider_id text PRIMARY KEY CHECK (provider_id ~ '^[a-z0-9][a-z0-9._-]{0,99}$'),
    display_name text NOT NULL,
    api_kind text NOT NULL CHECK (api_kind IN ('openai_compatible', 'anthropic', 'sagemaker', 'catalogue')),
    base_url text NOT NULL DEFAULT '',
    docs_url text NOT NULL DEFAULT '',
    env_vars text[] NOT NULL DEFAULT '{}',
    requires_credential boolean NOT NULL DEFAULT true,
    enabled boolean NOT NULL DEFAULT true,
    source text NOT NULL CHECK (source IN ('seed', 'models.dev', 'admin')),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- One row per model. The columns are what is filtered, counted and joined on; `document` is
-- the rest of the model (radiant.registry.v1.Model as JSON), validated before it is written.
CREATE TABLE models (
    model_id text PRIMARY KEY CHECK (length(model_id) BETWEEN 1 AND 200),
    provider_id text NOT NULL REFERENCES providers (provider_id),
    hosting text NOT NULL CHECK (hosting IN ('external', 'self_hosted')),
    display_name text NOT NULL,
    category text NOT NULL,
    status text NOT NULL CHECK (status IN ('active', 'pending_review', 'deprecated')),
    enabled boolean NOT NULL DEFAULT true,
    source text NOT NULL CHECK (source IN ('seed', 'models.dev', 'admin')),
    -- the entry's key in its source (models.dev: "<provider>:<model>")
    source_key text,
    document jsonb NOT NULL,
    revision bigint NOT NULL DEFAULT 1 CHECK (revision >= 1),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX models_provider_idx ON models (provider_id);
CREATE INDEX models_category_idx ON models (category);
CREATE UNIQUE INDEX models_source_key_idx ON models (source, source_key) WHERE source_key IS NOT NULL;

CREATE TABLE model_licenses (
    license_id uuid PRIMARY KEY,
    model_id text NOT NULL REFERENCES models (model_id),
    covers text NOT NULL CHECK (covers IN ('source_code', 'model_weights', 'database', 'data', 'service')),
    spdx_id text NOT NULL,
    url text NOT NULL DEFAULT '',
    commercial_use boolean NOT NULL,
    commercial_notes text NOT NULL DEFAULT '',
    attribution_required boolean NOT NULL DEFAULT false,
    attribution_text text NOT NULL DEFAULT '',
    share_alike boolean NOT NULL DEFAULT false,
    compliance_status text NOT NULL CHECK (compliance_status IN ('compliant', 'review_needed', 'non_compliant')),
    compliance_notes text NOT NULL DEFAULT '',
    reviewed_by text,
    reviewed_at timestamptz,
    expires_at timestamptz,
    -- a license replaced by an admin write is kept, marked superseded
    superseded_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX model_licenses_model_idx ON model_licenses (model_id) WHERE superseded_at IS NULL;

CREATE TABLE model_dependencies (
    dependency_id uuid PRIMARY KEY,
    model_id text NOT NULL REFERENCES models (model_id),
    dependency_type text NOT NULL CHECK (dependency_type IN ('model', 'database', 'library', 'data', 'service')),
    name text NOT NULL,
    document jsonb NOT NULL,
    superseded_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX model_dependencies_model_idx ON model_dependencies (model_id) WHERE superseded_at IS NULL;

CREATE TABLE workflows (
    workflow_id text PRIMARY KEY CHECK (workflow_id ~ '^[a-z0-9][a-z0-9_-]{0,99}$'),
    name text NOT NULL,
    category text NOT NULL,
    enabled boolean NOT NULL DEFAULT true,
    document jsonb NOT NULL,
    revision bigint NOT NULL DEFAULT 1,
    deleted_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE audit_log (
    audit_id uuid PRIMARY KEY,
    actor text NOT NULL,
    entity_type text NOT NULL,
    entity_id text NOT NULL,
    action text NOT NULL,
    summary text NOT NULL,
    before_state jsonb,
    after_state jsonb,
    request_id text NOT NULL DEFAULT '',
    at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX audit_log_entity_idx ON audit_log (entity_type, entity_id, at DESC);
CREATE INDEX audit_log_at_idx ON audit_log (at DESC);

CREATE TABLE sync_runs (
    sync_id uuid PRIMARY KEY,
    sync_type text NOT NULL CHECK (sync_type IN ('full', 'pricing', 'health', 'thermal')),
    trigger text NOT NULL,
    status text NOT NULL CHECK (status IN ('running', 'completed', 'failed')),
    providers_updated integer NOT NULL DEFAULT 0,
    models_added integer NOT NULL DEFAULT 0,
    models_updated integer NOT NULL DEFAULT 0,
    models_deprecated integer NOT NULL DEFAULT 0,
    prices_updated integer NOT NULL DEFAULT 0,
    checked integer NOT NULL DEFAULT 0,
    errors text[] NOT NULL DEFAULT '{}',
    started_at timestamptz NOT NULL DEFAULT now(),
    completed_at timestamptz,
    duration_ms bigint
);
CREATE INDEX sync_runs_started_idx ON sync_runs (started_at DESC);

-- Every health observation consumed, as it came.
CREATE TABLE health_observations (
    observation_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    -- the event's Nats-Msg-Id (or stream sequence): a redelivered event is recorded once
    dedup_key text NOT NULL UNIQUE,
    provider_id text NOT NULL,
    region text NOT NULL,
    model_id text NOT NULL DEFAULT '',
    success boolean NOT NULL,
    unconfigured boolean NOT NULL DEFAULT false,
    latency_ms double precision NOT NULL,
    error text NOT NULL DEFAULT '',
    source text NOT NULL DEFAULT '',
    observed_at timestamptz NOT NULL,
    received_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX health_observations_provider_idx ON health_observations (provider_id, observed_at DESC);
CREATE INDEX health_observations_model_idx ON health_observations (model_id, observed_at DESC) WHERE model_id <> '';

-- The current health of each provider (what the KV bucket shows), with the aggregates the
-- next observation updates. One row per provider (region 'global'); observations keep their
-- region in the history.
CREATE TABLE provider_health (
    provider_id text NOT NULL,
    region text NOT NULL,
    status text NOT NULL CHECK (status IN ('healthy', 'degraded', 'unhealthy', 'unknown', 'unconfigured')),
    ewma_latency_ms double precision NOT NULL DEFAULT 0,
    p95_latency_ms double precision NOT NULL DEFAULT 0,
    p99_latency_ms double precision NOT NULL DEFAULT 0,
    error_rate double precision NOT NULL DEFAULT 0,
    success_rate double precision NOT NULL DEFAULT 0,
    observations bigint NOT NULL DEFAULT 0,
    consecutive_failures integer NOT NULL DEFAULT 0,
    unconfigured boolean NOT NULL DEFAULT false,
    last_success_at timestamptz,
    last_failure_at timestamptz,
    last_error text NOT NULL DEFAULT '',
    observed_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (provider_id, region)
);

CREATE TABLE thermal_states (
    model_id text PRIMARY KEY REFERENCES models (model_id),
    mode text NOT NULL CHECK (mode IN ('off', 'cold', 'warm', 'hot', 'automatic')),
    state text NOT NULL CHECK (state IN ('off', 'cold', 'warm', 'hot')),
    -- what the endpoint itself was last seen in (the state above is the manager's decision)
    observed_state text NOT NULL DEFAULT 'cold' CHECK (observed_state IN ('off', 'cold', 'warm', 'hot')),
    endpoint_observed_at timestamptz,
    warm_until timestamptz,
    requests_per_minute double precision NOT NULL DEFAULT 0,
    reason text NOT NULL DEFAULT '',
    -- when this state was decided (orders the KV entries)
    observed_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE thermal_transitions (
    transition_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    model_id text NOT NULL,
    from_state text NOT NULL,
    to_state text NOT NULL,
    reason text NOT NULL,
    source text NOT NULL DEFAULT '',
    at timestamptz NOT NULL
);
CREATE INDEX thermal_transitions_model_idx ON thermal_transitions (model_id, at DESC);

-- Provider API keys, AES-256-GCM under the configured master key; the nonce is per row and the
-- associated data binds the ciphertext to its provider and version, so rows cannot be swapped.
CREATE TABLE credentials (
    credential_id uuid PRIMARY KEY,
    provider_id text NOT NULL REFERENCES providers (provider_id),
    version integer NOT NULL CHECK (version >= 1),
    nonce bytea NOT NULL CHECK (length(nonce) = 12),
    ciphertext bytea NOT NULL,
    key_hint text NOT NULL,
    active boolean NOT NULL DEFAULT true,
    created_by text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    rotated_at timestamptz,
    revoked_at timestamptz,
    last_used_at timestamptz,
    use_count bigint NOT NULL DEFAULT 0,
    UNIQUE (provider_id, version)
);
CREATE UNIQUE INDEX credentials_one_active_idx ON credentials (provider_id) WHERE active;

CREATE TABLE credential_uses (
    use_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    credential_id uuid NOT NULL REFERENCES credentials (credential_id),
    used_by text NOT NULL,
    purpose text NOT NULL,
    request_id text NOT NULL DEFAULT '',
    at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX credential_uses_credential_idx ON credential_uses (credential_id, at DESC);
