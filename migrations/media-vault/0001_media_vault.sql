-- The media vault: content-addressed blobs shared by every tenant, tenant-owned files and their
-- versions, upload sessions, idempotency keys, image variants and the purge outbox.
-- The service role may SELECT/INSERT/UPDATE only: rows are never deleted; lifecycle columns
-- say what happened to them.

-- One row per distinct content. Not tenant data (no tenant_id): identical bytes are stored once
-- whoever uploads them; tenants reach blobs only through their own file versions.
CREATE TABLE blobs (
    sha256 text PRIMARY KEY CHECK (sha256 ~ '^[0-9a-f]{64}$'),
    size_bytes bigint NOT NULL CHECK (size_bytes >= 0),
    mime_type text NOT NULL,
    s3_bucket text NOT NULL,
    s3_key text NOT NULL,
    s3_version_id text NOT NULL,
    -- live references: file versions and variants not purged
    ref_count integer NOT NULL DEFAULT 0 CHECK (ref_count >= 0),
    status text NOT NULL DEFAULT 'stored' CHECK (status IN ('stored', 'purging', 'purged')),
    integrity_status text NOT NULL DEFAULT 'unverified'
        CHECK (integrity_status IN ('unverified', 'ok', 'mismatch', 'unreadable')),
    last_verified_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT now(),
    purged_at timestamptz
);
-- the scrub reads the least recently verified blobs first, so a cycle covers every blob
CREATE INDEX blobs_scrub_order_idx ON blobs (last_verified_at NULLS FIRST, sha256) WHERE status = 'stored';

CREATE TABLE files (
    id uuid PRIMARY KEY,
    tenant_id uuid NOT NULL,
    scope text NOT NULL,
    name text NOT NULL,
    latest_version integer NOT NULL CHECK (latest_version >= 1),
    lifecycle_status text NOT NULL DEFAULT 'active'
        CHECK (lifecycle_status IN ('active', 'archived', 'tombstoned', 'deleted')),
    lifecycle_reason text,
    lifecycle_changed_by text,
    lifecycle_changed_at timestamptz,
    legal_hold boolean NOT NULL DEFAULT false,
    legal_hold_reason text,
    legal_hold_by text,
    legal_hold_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (tenant_id, scope, name)
);

CREATE TABLE file_versions (
    id uuid PRIMARY KEY,
    tenant_id uuid NOT NULL,
    file_id uuid NOT NULL REFERENCES files (id),
    version integer NOT NULL CHECK (version >= 1),
    blob_sha256 text NOT NULL REFERENCES blobs (sha256),
    mime_type text NOT NULL,
    size_bytes bigint NOT NULL CHECK (size_bytes >= 0),
    source text NOT NULL CHECK (source IN ('user_upload', 'ai_generated', 'system')),
    upload_status text NOT NULL DEFAULT 'completed'
        CHECK (upload_status IN ('pending', 'uploading', 'completed', 'failed')),
    processing_status text NOT NULL
        CHECK (processing_status IN ('pending', 'processing', 'completed', 'failed', 'not_applicable')),
    lifecycle_status text NOT NULL DEFAULT 'active'
        CHECK (lifecycle_status IN ('active', 'archived', 'deleted')),
    deduplicated boolean NOT NULL,
    created_by text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (file_id, version)
);
CREATE INDEX file_versions_blob_idx ON file_versions (blob_sha256);

-- Derived images; the group is the original version, recipe_version lets a new recipe reprocess.
CREATE TABLE variants (
    id uuid PRIMARY KEY,
    tenant_id uuid NOT NULL,
    version_id uuid NOT NULL REFERENCES file_versions (id),
    variant_type text NOT NULL CHECK (variant_type IN ('thumbnail', 'display')),
    recipe_version text NOT NULL,
    processing_status text NOT NULL
        CHECK (processing_status IN ('pending', 'processing', 'completed', 'failed')),
    blob_sha256 text REFERENCES blobs (sha256),
    mime_type text,
    width integer,
    height integer,
    size_bytes bigint,
    failure_reason text,
    purged boolean NOT NULL DEFAULT false,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (version_id, variant_type, recipe_version),
    CHECK ((processing_status = 'completed') = (blob_sha256 IS NOT NULL))
);

CREATE TABLE upload_sessions (
    id uuid PRIMARY KEY,
    tenant_id uuid NOT NULL,
    created_by text NOT NULL,
    scope text NOT NULL,
    name text NOT NULL,
    mime_type text NOT NULL,
    source text NOT NULL,
    size_bytes bigint NOT NULL CHECK (size_bytes >= 0),
    sha256 text NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
    part_size_bytes bigint NOT NULL CHECK (part_size_bytes > 0),
    part_count integer NOT NULL CHECK (part_count >= 0),
    s3_bucket text NOT NULL,
    s3_key text NOT NULL,
    -- absent when the hash matched stored content and nothing had to be uploaded
    s3_upload_id text,
    upload_status text NOT NULL
        CHECK (upload_status IN ('pending', 'uploading', 'completed', 'failed')),
    -- set while one caller completes the session, so a concurrent complete waits its turn
    completing_since timestamptz,
    failure_reason text,
    version_id uuid REFERENCES file_versions (id),
    deduplicated boolean NOT NULL DEFAULT false,
    expires_at timestamptz NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- The S3 side of upload sessions, without tenant data, so the sweeper can abort abandoned
-- multipart uploads of every tenant without reading tenant rows.
CREATE TABLE multipart_uploads (
    s3_upload_id text PRIMARY KEY,
    session_id uuid NOT NULL,
    s3_bucket text NOT NULL,
    s3_key text NOT NULL,
    status text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'completed', 'aborted')),
    expires_at timestamptz NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    closed_at timestamptz
);
CREATE INDEX multipart_uploads_open_expiry_idx ON multipart_uploads (expires_at) WHERE status = 'open';

-- A replayed create/complete returns the stored response; the same key with another request
-- is a conflict.
CREATE TABLE idempotency_keys (
    tenant_id uuid NOT NULL,
    user_id text NOT NULL,
    operation text NOT NULL,
    key text NOT NULL,
    request_sha256 text NOT NULL,
    response bytea NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, user_id, operation, key)
);

-- Outbox of physical deletions: a blob whose last reference was purged. The purge job deletes
-- the S3 object version only if the blob is still unreferenced when it runs.
CREATE TABLE blob_purge_jobs (
    id uuid PRIMARY KEY,
    blob_sha256 text NOT NULL REFERENCES blobs (sha256),
    s3_bucket text NOT NULL,
    s3_key text NOT NULL,
    s3_version_id text NOT NULL,
    status text NOT NULL DEFAULT 'pending'
        CHECK (status IN ('pending', 'completed', 'cancelled', 'failed')),
    attempts integer NOT NULL DEFAULT 0,
    last_error text,
    requested_by text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    processed_at timestamptz
);
CREATE INDEX blob_purge_jobs_pending_idx ON blob_purge_jobs (created_at) WHERE status = 'pending';

-- Tenant isolation enforced by PostgreSQL, owner included.
ALTER TABLE files ENABLE ROW LEVEL SECURITY;
ALTER TABLE files FORCE ROW LEVEL SECURITY;
CREATE POLICY files_tenant ON files
    USING (tenant_id = radiant_current_tenant()) WITH CHECK (tenant_id = radiant_current_tenant());
ALTER TABLE file_versions ENABLE ROW LEVEL SECURITY;
ALTER TABLE file_versions FORCE ROW LEVEL SECURITY;
CREATE POLICY file_versions_tenant ON file_versions
    USING (tenant_id = radiant_current_tenant()) WITH CHECK (tenant_id = radiant_current_tenant());
ALTER TABLE variants ENABLE ROW LEVEL SECURITY;
ALTER TABLE variants FORCE ROW LEVEL SECURITY;
CREATE POLICY variants_tenant ON variants
    USING (tenant_id = radiant_current_tenant()) WITH CHECK (tenant_id = radiant_current_tenant());
ALTER TABLE upload_sessions ENABLE ROW LEVEL SECURITY;
ALTER TABLE upload_sessions FORCE ROW LEVEL SECURITY;
CREATE POLICY upload_sessions_tenant ON upload_sessions
    USING (tenant_id = radiant_current_tenant()) WITH CHECK (tenant_id = radiant_current_tenant());
ALTER TABLE idempotency_keys ENABLE ROW LEVEL SECURITY;
ALTER TABLE idempotency_keys FORCE ROW LEVEL SECURITY;
CREATE POLICY idempotency_keys_tenant ON idempotency_keys
    USING (tenant_id = radiant_current_tenant()) WITH CHECK (tenant_id = radiant_current_tenant());
