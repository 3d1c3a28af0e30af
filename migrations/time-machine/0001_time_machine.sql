-- The time machine: chats, every version of their messages and files, the snapshots that
-- number every change, the restore log and export bundles.
--
-- Versions carry the range of chat versions in which they are current, [valid_from, valid_to)
-- (valid_to = 2147483647 while current), so the chat as of any snapshot is an index range
-- query, and a change ends one range and starts another instead of rewriting anything.
-- The service role may SELECT/INSERT/UPDATE only: nothing is ever deleted. The only UPDATEs of
-- history rows close a version's range (valid_to), once.

-- btree_gin: tenant-scoped full-text search in one GIN index (tenant_id, tsvector);
-- pg_trgm: file names matched by substring. Both are trusted extensions (the database owner
-- may create them).
CREATE EXTENSION IF NOT EXISTS btree_gin;
CREATE EXTENSION IF NOT EXISTS pg_trgm;

CREATE TABLE chats (
    id uuid PRIMARY KEY,
    tenant_id uuid NOT NULL,
    user_id text NOT NULL,
    title text NOT NULL DEFAULT '',
    title_source text NOT NULL DEFAULT 'none' CHECK (title_source IN ('none', 'auto', 'user')),
    model_id text NOT NULL DEFAULT '',
    sandbox_id text NOT NULL DEFAULT '',
    visibility text NOT NULL DEFAULT 'private' CHECK (visibility IN ('private', 'public')),
    last_context jsonb,
    is_deleted boolean NOT NULL DEFAULT false,
    deleted_at timestamptz,
    deleted_by text,
    -- the idempotency key of the request that created the chat
    create_key text,
    -- the head: the newest snapshot and the running state it recorded, kept in this row so a
    -- snapshot costs the same at 10 messages as at 10,000 (no recount, no rehash)
    head_version integer NOT NULL DEFAULT 0 CHECK (head_version >= 0),
    head_snapshot_id uuid,
    head_checksum text NOT NULL,
    next_position bigint NOT NULL DEFAULT 1,
    next_file_position bigint NOT NULL DEFAULT 1,
    message_count bigint NOT NULL DEFAULT 0 CHECK (message_count >= 0),
    file_count bigint NOT NULL DEFAULT 0 CHECK (file_count >= 0),
    total_tokens bigint NOT NULL DEFAULT 0 CHECK (total_tokens >= 0),
    media_bytes bigint NOT NULL DEFAULT 0 CHECK (media_bytes >= 0),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX chats_create_key_idx ON chats (tenant_id, user_id, create_key) WHERE create_key IS NOT NULL;
CREATE INDEX chats_user_idx ON chats (tenant_id, user_id, is_deleted, updated_at DESC);
CREATE INDEX chats_title_idx ON chats USING gin (title gin_trgm_ops);

CREATE TABLE snapshots (
    id uuid PRIMARY KEY,
    tenant_id uuid NOT NULL,
    chat_id uuid NOT NULL REFERENCES chats (id),
    version integer NOT NULL CHECK (version >= 1),
    trigger text NOT NULL CHECK (trigger IN (
        'message_sent', 'message_received', 'message_edited', 'message_deleted',
        'file_uploaded', 'file_generated', 'file_deleted', 'chat_renamed',
        'restore_performed', 'manual_snapshot')),
    trigger_message_id uuid,
    trigger_file_id uuid,
    description text NOT NULL DEFAULT '',
    -- the chat's state after this snapshot
    title text NOT NULL,
    message_count bigint NOT NULL,
    file_count bigint NOT NULL,
    total_tokens bigint NOT NULL,
    media_bytes bigint NOT NULL,
    previous_snapshot_id uuid REFERENCES snapshots (id),
    restored_from_snapshot_id uuid REFERENCES snapshots (id),
    -- sha256(previous checksum, this snapshot's header, its change): a hash chain
    checksum text NOT NULL CHECK (checksum ~ '^[0-9a-f]{64}$'),
    actor text NOT NULL,
    created_at timestamptz NOT NULL,
    UNIQUE (chat_id, version)
);
CREATE INDEX snapshots_chat_time_idx ON snapshots (chat_id, created_at);

-- A message's stable identity and place in its chat.
CREATE TABLE messages (
    id uuid PRIMARY KEY,
    tenant_id uuid NOT NULL,
    chat_id uuid NOT NULL REFERENCES chats (id),
    position bigint NOT NULL CHECK (position >= 1),
    role text NOT NULL CHECK (role IN ('user', 'assistant', 'system')),
    latest_version integer NOT NULL CHECK (latest_version >= 1),
    idempotency_key text,
    created_by text NOT NULL,
    created_at timestamptz NOT NULL,
    UNIQUE (chat_id, position)
);
CREATE UNIQUE INDEX messages_idempotency_idx ON messages (chat_id, idempotency_key) WHERE idempotency_key IS NOT NULL;

CREATE TABLE message_versions (
    id uuid PRIMARY KEY,
    tenant_id uuid NOT NULL,
    chat_id uuid NOT NULL REFERENCES chats (id),
    message_id uuid NOT NULL REFERENCES messages (id),
    version integer NOT NULL CHECK (version >= 1),
    position bigint NOT NULL,
    role text NOT NULL CHECK (role IN ('user', 'assistant', 'system')),
    content text NOT NULL,
    parts jsonb NOT NULL DEFAULT '[]',
    metadata jsonb NOT NULL DEFAULT '{}',
    tokens bigint NOT NULL DEFAULT 0 CHECK (tokens >= 0),
    content_sha256 text NOT NULL CHECK (content_sha256 ~ '^[0-9a-f]{64}$'),
    edit_reason text,
    edited_by text,
    restored_from uuid REFERENCES message_versions (id),
    valid_from integer NOT NULL,
    valid_to integer NOT NULL DEFAULT 2147483647,
    created_at timestamptz NOT NULL,
    search tsvector GENERATED ALWAYS AS (to_tsvector('english', content)) STORED,
    UNIQUE (message_id, version),
    CHECK (valid_from < valid_to)
);
-- the chat as of version V, in order: chat_id = $1 AND valid_from <= V AND valid_to > V,
-- ordered by position (the range columns are checked inside the index)
CREATE INDEX message_versions_as_of_idx ON message_versions (chat_id, position, valid_from, valid_to);
-- what changed between two versions, and what a restore ends or copies: ranges that start or
-- end in an interval
CREATE INDEX message_versions_range_idx ON message_versions (chat_id, valid_to, valid_from);
CREATE INDEX message_versions_started_idx ON message_versions (chat_id, valid_from);
CREATE INDEX message_versions_search_idx ON message_versions USING gin (tenant_id, search);

-- A file's stable identity in its chat: the media vault's file id (a vault file is
-- (tenant, scope "chat:<chat id>", name), as a chat file is (chat, name)).
CREATE TABLE chat_files (
    id uuid PRIMARY KEY,
    tenant_id uuid NOT NULL,
    chat_id uuid NOT NULL REFERENCES chats (id),
    name text NOT NULL,
    position bigint NOT NULL,
    latest_version integer NOT NULL CHECK (latest_version >= 1),
    created_at timestamptz NOT NULL,
    UNIQUE (chat_id, name)
);

CREATE TABLE file_versions (
    id uuid PRIMARY KEY,
    tenant_id uuid NOT NULL,
    chat_id uuid NOT NULL REFERENCES chats (id),
    file_id uuid NOT NULL REFERENCES chat_files (id),
    version integer NOT NULL CHECK (version >= 1),
    name text NOT NULL,
    mime_type text NOT NULL,
    size_bytes bigint NOT NULL CHECK (size_bytes >= 0),
    sha256 text NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
    source text NOT NULL CHECK (source IN ('user_upload', 'ai_generated', 'system')),
    message_id uuid,
    description text NOT NULL DEFAULT '',
    extracted_text text NOT NULL DEFAULT '',
    -- where the bytes are: the media vault's file and version
    media_file_id uuid NOT NULL,
    media_version integer NOT NULL CHECK (media_version >= 1),
    created_by text NOT NULL,
    restored_from uuid REFERENCES file_versions (id),
    valid_from integer NOT NULL,
    valid_to integer NOT NULL DEFAULT 2147483647,
    created_at timestamptz NOT NULL,
    search tsvector GENERATED ALWAYS AS (
        setweight(to_tsvector('simple', name), 'A') ||
        setweight(to_tsvector('english', description), 'B') ||
        setweight(to_tsvector('english', extracted_text), 'C')) STORED,
    UNIQUE (file_id, version),
    CHECK (valid_from < valid_to)
);
CREATE INDEX file_versions_range_idx ON file_versions (chat_id, valid_to, valid_from);
CREATE INDEX file_versions_started_idx ON file_versions (chat_id, valid_from);
CREATE INDEX file_versions_search_idx ON file_versions USING gin (tenant_id, search);
CREATE INDEX file_versions_name_idx ON file_versions USING gin (name gin_trgm_ops);

CREATE TABLE restores (
    id uuid PRIMARY KEY,
    tenant_id uuid NOT NULL,
    chat_id uuid NOT NULL REFERENCES chats (id),
    user_id text NOT NULL,
    -- the snapshot restored to, the head before the restore (restore to it to undo), and the
    -- snapshot the restore created
    target_snapshot_id uuid NOT NULL REFERENCES snapshots (id),
    previous_snapshot_id uuid REFERENCES snapshots (id),
    result_snapshot_id uuid NOT NULL REFERENCES snapshots (id),
    scope text NOT NULL CHECK (scope IN ('full_chat', 'single_message', 'single_file', 'message_range', 'files_only')),
    message_ids uuid[] NOT NULL DEFAULT '{}',
    file_ids uuid[] NOT NULL DEFAULT '{}',
    messages_restored integer NOT NULL,
    messages_removed integer NOT NULL,
    files_restored integer NOT NULL,
    files_removed integer NOT NULL,
    reason text NOT NULL DEFAULT '',
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX restores_chat_idx ON restores (chat_id, created_at);

CREATE TABLE exports (
    id uuid PRIMARY KEY,
    tenant_id uuid NOT NULL,
    chat_id uuid NOT NULL REFERENCES chats (id),
    user_id text NOT NULL,
    format text NOT NULL CHECK (format IN ('json', 'markdown', 'html', 'pdf', 'zip')),
    zip_text_format text NOT NULL DEFAULT '' CHECK (zip_text_format IN ('', 'json', 'markdown', 'html')),
    include_media boolean NOT NULL,
    include_version_history boolean NOT NULL,
    from_snapshot_id uuid REFERENCES snapshots (id),
    to_snapshot_id uuid NOT NULL REFERENCES snapshots (id),
    from_version integer NOT NULL,
    to_version integer NOT NULL,
    status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'processing', 'ready', 'failed', 'expired')),
    error_message text NOT NULL DEFAULT '',
    attempts integer NOT NULL DEFAULT 0,
    media_file_id uuid,
    media_version integer,
    file_name text NOT NULL DEFAULT '',
    size_bytes bigint NOT NULL DEFAULT 0,
    sha256 text NOT NULL DEFAULT '',
    download_count integer NOT NULL DEFAULT 0,
    idempotency_key text,
    expires_at timestamptz NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    started_at timestamptz,
    completed_at timestamptz,
    updated_at timestamptz NOT NULL DEFAULT now(),
    -- a ready (or since expired) bundle has its bytes; nothing else does
    CHECK ((status IN ('ready', 'expired')) = (media_file_id IS NOT NULL))
);
CREATE UNIQUE INDEX exports_idempotency_idx ON exports (tenant_id, user_id, idempotency_key) WHERE idempotency_key IS NOT NULL;
CREATE INDEX exports_chat_idx ON exports (chat_id, created_at);

-- The event relay's to-do list. Not tenant data: ids only (the snapshot and whose it is), so
-- the relay can find unpublished snapshots of every tenant and then read each one under its
-- own tenant's row level security. Written in the snapshot's transaction (a transactional
-- outbox): a snapshot is never committed without its event being owed.
CREATE TABLE event_outbox (
    snapshot_id uuid PRIMARY KEY,
    owner_tenant uuid NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    published_at timestamptz
);
CREATE INDEX event_outbox_pending_idx ON event_outbox (created_at) WHERE published_at IS NULL;

-- Tenant isolation enforced by PostgreSQL, owner included.
ALTER TABLE chats ENABLE ROW LEVEL SECURITY;
ALTER TABLE chats FORCE ROW LEVEL SECURITY;
CREATE POLICY chats_tenant ON chats
    USING (tenant_id = radiant_current_tenant()) WITH CHECK (tenant_id = radiant_current_tenant());
ALTER TABLE snapshots ENABLE ROW LEVEL SECURITY;
ALTER TABLE snapshots FORCE ROW LEVEL SECURITY;
CREATE POLICY snapshots_tenant ON snapshots
    USING (tenant_id = radiant_current_tenant()) WITH CHECK (tenant_id = radiant_current_tenant());
ALTER TABLE messages ENABLE ROW LEVEL SECURITY;
ALTER TABLE messages FORCE ROW LEVEL SECURITY;
CREATE POLICY messages_tenant ON messages
    USING (tenant_id = radiant_current_tenant()) WITH CHECK (tenant_id = radiant_current_tenant());
ALTER TABLE message_versions ENABLE ROW LEVEL SECURITY;
ALTER TABLE message_versions FORCE ROW LEVEL SECURITY;
CREATE POLICY message_versions_tenant ON message_versions
    USING (tenant_id = radiant_current_tenant()) WITH CHECK (tenant_id = radiant_current_tenant());
ALTER TABLE chat_files ENABLE ROW LEVEL SECURITY;
ALTER TABLE chat_files FORCE ROW LEVEL SECURITY;
CREATE POLICY chat_files_tenant ON chat_files
    USING (tenant_id = radiant_current_tenant()) WITH CHECK (tenant_id = radiant_current_tenant());
ALTER TABLE file_versions ENABLE ROW LEVEL SECURITY;
ALTER TABLE file_versions FORCE ROW LEVEL SECURITY;
CREATE POLICY file_versions_tenant ON file_versions
    USING (tenant_id = radiant_current_tenant()) WITH CHECK (tenant_id = radiant_current_tenant());
ALTER TABLE restores ENABLE ROW LEVEL SECURITY;
ALTER TABLE restores FORCE ROW LEVEL SECURITY;
CREATE POLICY restores_tenant ON restores
    USING (tenant_id = radiant_current_tenant()) WITH CHECK (tenant_id = radiant_current_tenant());
ALTER TABLE exports ENABLE ROW LEVEL SECURITY;
ALTER TABLE exports FORCE ROW LEVEL SECURITY;
CREATE POLICY exports_tenant ON exports
    USING (tenant_id = radiant_current_tenant()) WITH CHECK (tenant_id = radiant_current_tenant());
