-- The durable inbox and outbox: every update is committed here before Telegram hears that the
-- bot has it, and every message the bot sends is written in the same transaction as the change
-- it reports, then sent from here. A crash at any moment loses neither.

-- Every update as Telegram sent it. The update's own id is unique, so a redelivered update is
-- recognised at the door. Handled rows are pruned after a while (Telegram never redelivers an
-- update older than a day); dead letters stay until someone looks at them.
CREATE TABLE inbox (
    id              INTEGER PRIMARY KEY,   -- the order updates are handled in, per chat
    update_id       INTEGER NOT NULL UNIQUE,
    chat_id         INTEGER NOT NULL,      -- the chat (or person) whose updates keep their order
    kind            TEXT NOT NULL,         -- 'message', 'edited_message', 'callback_query', …
    payload         TEXT NOT NULL,         -- the raw JSON
    received_at     TEXT NOT NULL,         -- when it reached the bot: the time it is judged by
    listening_since TEXT NOT NULL,         -- when the poll that brought it began
    state           TEXT NOT NULL DEFAULT 'new' CHECK (state IN ('new', 'handled', 'dead')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    handled_at      TEXT,
    error           TEXT
);
CREATE INDEX inbox_new ON inbox (id) WHERE state = 'new';
CREATE INDEX inbox_dead ON inbox (id) WHERE state = 'dead';
CREATE INDEX inbox_handled ON inbox (handled_at) WHERE state = 'handled';

-- A file the bot sends (a chart, a spreadsheet), stored once however many people get it. Once
-- Telegram has it, its file_id is sent instead of the bytes, which are then dropped.
CREATE TABLE outbox_files (
    id          INTEGER PRIMARY KEY,
    sha256      TEXT NOT NULL UNIQUE,
    filename    TEXT NOT NULL,
    content     BLOB,
    tg_file_id  TEXT,
    created_at  TEXT NOT NULL
);

-- Every request the bot makes to say something: a message, an edit, an answer to a button, a
-- file. Sent in order per chat; a row is marked 'sending' just before it goes on the wire, so
-- after a crash the one request that may or may not have arrived is 'uncertain', never resent.
CREATE TABLE outbox (
    id          INTEGER PRIMARY KEY,
    chat_id     INTEGER NOT NULL,
    method      TEXT NOT NULL CHECK (method IN ('sendMessage', 'sendPhoto', 'sendDocument',
                    'editMessageText', 'editMessageReplyMarkup', 'answerCallbackQuery')),
    params      TEXT NOT NULL DEFAULT '{}',  -- text, parse mode, buttons, the message it quotes
    file_id     INTEGER REFERENCES outbox_files(id),
    target_id   INTEGER REFERENCES outbox(id),  -- an edit of a message sent from this outbox
    gather      INTEGER NOT NULL DEFAULT 0,     -- an answer that may join others in one message
    update_id   INTEGER,                        -- the update it answers
    delivery_id INTEGER REFERENCES deliveries(id),  -- a part of a scheduled message
    last_part   INTEGER NOT NULL DEFAULT 1,
    state       TEXT NOT NULL DEFAULT 'due'
                CHECK (state IN ('due', 'sending', 'sent', 'uncertain', 'failed', 'expired')),
    due_at      TEXT NOT NULL,
    expires_at  TEXT,
    attempts    INTEGER NOT NULL DEFAULT 0,
    message_id  INTEGER,   -- what Telegram called the message it made
    created_at  TEXT NOT NULL,
    sent_at     TEXT,
    error       TEXT
);
CREATE INDEX outbox_chat_due ON outbox (chat_id, id) WHERE state = 'due';
CREATE INDEX outbox_due ON outbox (due_at) WHERE state = 'due';
CREATE INDEX outbox_sending ON outbox (id) WHERE state = 'sending';
CREATE INDEX outbox_delivery ON outbox (delivery_id) WHERE delivery_id IS NOT NULL;
CREATE INDEX outbox_target ON outbox (target_id) WHERE target_id IS NOT NULL;
CREATE INDEX outbox_settled ON outbox (created_at) WHERE state NOT IN ('due', 'sending');

-- A copy of a leave request may still be in the outbox when the request is decided: the copy
-- is then known by its outbox row, and its message id comes from there once it is sent.
CREATE TABLE leave_messages_new (
    id          INTEGER PRIMARY KEY,
    request_id  INTEGER NOT NULL REFERENCES leave_requests(id),
    person_id   INTEGER REFERENCES people(id),
    purpose     TEXT NOT NULL CHECK (purpose IN ('approver', 'member')),
    chat_id     INTEGER NOT NULL,
    message_id  INTEGER,
    outbox_id   INTEGER REFERENCES outbox(id),
    step        INTEGER NOT NULL,
    sent_at     TEXT NOT NULL,
    CHECK (message_id IS NOT NULL OR outbox_id IS NOT NULL),
    UNIQUE (chat_id, message_id)
);
INSERT INTO leave_messages_new (request_id, person_id, purpose, chat_id, message_id, step, sent_at)
    SELECT request_id, person_id, purpose, chat_id, message_id, step, sent_at
    FROM leave_messages ORDER BY sent_at, message_id;
DROP TABLE leave_messages;
ALTER TABLE leave_messages_new RENAME TO leave_messages;
CREATE INDEX leave_messages_request ON leave_messages (request_id);
CREATE INDEX leave_messages_outbox ON leave_messages (outbox_id) WHERE outbox_id IS NOT NULL;
