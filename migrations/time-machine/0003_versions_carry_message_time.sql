-- A message version carries when its message was first saved, so reading a chat (as of any
-- snapshot, for verification, for export) reads message_versions alone: no join to messages,
-- whose plan would otherwise depend on statistics a freshly grown chat does not have yet.

ALTER TABLE message_versions ADD COLUMN message_created_at timestamptz;
-- the owner is subject to the tenant policies too (FORCE); they are lifted for the backfill
-- inside this migration's transaction only
ALTER TABLE message_versions NO FORCE ROW LEVEL SECURITY;
ALTER TABLE messages NO FORCE ROW LEVEL SECURITY;
ALTER TABLE message_versions DISABLE ROW LEVEL SECURITY;
ALTER TABLE messages DISABLE ROW LEVEL SECURITY;
UPDATE message_versions v SET message_created_at = m.created_at FROM messages m WHERE m.id = v.message_id;
ALTER TABLE message_versions ENABLE ROW LEVEL SECURITY;
ALTER TABLE messages ENABLE ROW LEVEL SECURITY;
ALTER TABLE message_versions FORCE ROW LEVEL SECURITY;
ALTER TABLE messages FORCE ROW LEVEL SECURITY;
ALTER TABLE message_versions ALTER COLUMN message_created_at SET NOT NULL;
