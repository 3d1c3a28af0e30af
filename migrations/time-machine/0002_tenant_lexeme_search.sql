-- Full-text search finds a tenant's rows through a lexeme of the search vector, not through a
-- tenant_id column of its GIN index.
--
-- With tenant_id as the first column of the GIN index (0001), the row level security condition
-- `tenant_id = radiant_current_tenant()` of every query could be answered from that index, and
-- the planner sometimes did: a restore's per-message lookup by message id was ANDed with a scan
-- of the whole tenant's posting list, once per message (found by bench/time-machine.sh right
-- after a chat grew, when statistics lag). A lexeme `t<tenant id hex>` in each vector gives the
-- search the same intersection inside one GIN index, and leaves the policy nothing to misuse.

DROP INDEX message_versions_search_idx;
ALTER TABLE message_versions DROP COLUMN search;
ALTER TABLE message_versions ADD COLUMN search tsvector GENERATED ALWAYS AS (
    to_tsvector('english', content) ||
    array_to_tsvector(ARRAY['t' || replace(tenant_id::text, '-', '')])) STORED;
CREATE INDEX message_versions_search_idx ON message_versions USING gin (search);

DROP INDEX file_versions_search_idx;
ALTER TABLE file_versions DROP COLUMN search;
ALTER TABLE file_versions ADD COLUMN search tsvector GENERATED ALWAYS AS (
    setweight(to_tsvector('simple', name), 'A') ||
    setweight(to_tsvector('english', description), 'B') ||
    setweight(to_tsvector('english', extracted_text), 'C') ||
    array_to_tsvector(ARRAY['t' || replace(tenant_id::text, '-', '')])) STORED;
CREATE INDEX file_versions_search_idx ON file_versions USING gin (search);

-- chats grow fast: statistics follow after 2 % of a table changed, not the default 10 %
ALTER TABLE message_versions SET (autovacuum_analyze_scale_factor = 0.02);
ALTER TABLE messages SET (autovacuum_analyze_scale_factor = 0.02);
ALTER TABLE snapshots SET (autovacuum_analyze_scale_factor = 0.02);
