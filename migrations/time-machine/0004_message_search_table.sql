-- The search vectors of message versions move to a table of their own, written once per
-- version and never updated.
--
-- A version's row is updated once, when its range closes (valid_to). With the tsvector stored
-- in that row, PostgreSQL recomputed the generated column (to_tsvector of the whole content)
-- and re-inserted the row into the GIN index on every such update: a full restore of 10,000
-- messages re-parsed and re-indexed 10,000 texts only to close ranges. Here the vector is
-- computed when the version is written (a restored copy takes its original's), and closing a
-- range touches only the version row.

CREATE TABLE message_search (
    version_id uuid PRIMARY KEY REFERENCES message_versions (id),
    tenant_id uuid NOT NULL,
    chat_id uuid NOT NULL,
    message_id uuid NOT NULL,
    content_sha256 text NOT NULL,
    role text NOT NULL,
    created_at timestamptz NOT NULL,
    search tsvector NOT NULL
);

-- the owner is subject to the tenant policies too (FORCE); they are lifted for the move
-- inside this migration's transaction only
ALTER TABLE message_versions NO FORCE ROW LEVEL SECURITY;
ALTER TABLE message_versions DISABLE ROW LEVEL SECURITY;
INSERT INTO message_search (version_id, tenant_id, chat_id, message_id, content_sha256, role, created_at, search)
SELECT id, tenant_id, chat_id, message_id, content_sha256, role, created_at, search FROM message_versions;
ALTER TABLE message_versions ENABLE ROW LEVEL SECURITY;
ALTER TABLE message_versions FORCE ROW LEVEL SECURITY;

DROP INDEX message_versions_search_idx;
ALTER TABLE message_versions DROP COLUMN search;
CREATE INDEX message_search_idx ON message_search USING gin (search);
ALTER TABLE message_search SET (autovacuum_analyze_scale_factor = 0.02);

ALTER TABLE message_search ENABLE ROW LEVEL SECURITY;
ALTER TABLE message_search FORCE ROW LEVEL SECURITY;
CREATE POLICY message_search_tenant ON message_search
    USING (tenant_id = radiant_current_tenant()) WITH CHECK (tenant_id = radiant_current_tenant());
