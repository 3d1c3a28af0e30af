-- A full restore of a long chat writes one new version per message and nothing else per
-- message (measured on 10,000 messages: the copy statement alone took 450 ms, most of it
-- checks and rows this migration removes):
--
-- * A version's message and chat are one composite reference, (chat_id, message_id) →
--   messages (chat_id, id): one check per row instead of two, and it also proves that the
--   version belongs to its message's chat.
-- * restored_from has no foreign key: it is written only by the statement that copies the
--   version it names, reading that row by primary key in the same statement, and versions are
--   never deleted (the service role has no DELETE), so the check could never fail; it cost a
--   lookup and a row lock on the original per copied version.
-- * messages.latest_version is no longer read or written: a message's newest version number
--   is the newest entry of the (message_id, version) index, which a restore already has in
--   hand from its range read, so a restore no longer updates every message it copies. The
--   column stays (with a default) while replicas of the previous release may still write it
--   during a rolling deploy; a later migration drops it.
-- * A restored copy gets no message_search row (new copies from here on): it is its original's
--   text, and a search shows the newest version of a message with the matching text.

CREATE UNIQUE INDEX messages_chat_message_idx ON messages (chat_id, id);

-- The owner is subject to the tenant policies too (FORCE), and a foreign key's initial check
-- runs under them: with them in force it would see no rows and check nothing. They are lifted
-- for the check inside this migration's transaction only.
ALTER TABLE message_versions NO FORCE ROW LEVEL SECURITY;
ALTER TABLE messages NO FORCE ROW LEVEL SECURITY;
ALTER TABLE message_versions DISABLE ROW LEVEL SECURITY;
ALTER TABLE messages DISABLE ROW LEVEL SECURITY;
ALTER TABLE message_versions
    DROP CONSTRAINT message_versions_chat_id_fkey,
    DROP CONSTRAINT message_versions_message_id_fkey,
    DROP CONSTRAINT message_versions_restored_from_fkey,
    ADD CONSTRAINT message_versions_message_fkey FOREIGN KEY (chat_id, message_id) REFERENCES messages (chat_id, id);
ALTER TABLE message_versions ENABLE ROW LEVEL SECURITY;
ALTER TABLE messages ENABLE ROW LEVEL SECURITY;
ALTER TABLE message_versions FORCE ROW LEVEL SECURITY;
ALTER TABLE messages FORCE ROW LEVEL SECURITY;

ALTER TABLE messages ALTER COLUMN latest_version SET DEFAULT 1;
