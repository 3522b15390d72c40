-- A group the bot was removed from: its team stays, flagged, and nothing is planned for the
-- group until the bot is added back (every send there would be refused).
ALTER TABLE chats ADD COLUMN bot_removed_at TEXT;
CREATE INDEX chats_removed ON chats (chat_id) WHERE bot_removed_at IS NOT NULL;
