-- Per-chat settings (language), single-use role invites, dialogue state that must survive a
-- restart, and small key/value facts about the bot itself.

CREATE TABLE chats (
    chat_id     INTEGER PRIMARY KEY,
    lang        TEXT CHECK (lang IN ('zh', 'en')),
    private     INTEGER NOT NULL DEFAULT 0,
    updated_at  TEXT NOT NULL
);

CREATE TABLE invites (
    code         TEXT PRIMARY KEY,
    role         TEXT NOT NULL CHECK (role IN ('coordinator', 'admin')),
    township_id  INTEGER REFERENCES townships(id),
    county_id    INTEGER REFERENCES counties(id),
    created_at   TEXT NOT NULL,
    expires_at   TEXT NOT NULL,
    used_at      TEXT,
    used_by      INTEGER REFERENCES people(id),
    CHECK ((role = 'coordinator' AND township_id IS NOT NULL)
           OR (role = 'admin' AND county_id IS NOT NULL))
);

CREATE TABLE pending_inputs (
    chat_id     INTEGER NOT NULL,
    person_id   INTEGER NOT NULL REFERENCES people(id),
    kind        TEXT NOT NULL,
    payload     TEXT NOT NULL DEFAULT '{}',
    created_at  TEXT NOT NULL,
    expires_at  TEXT NOT NULL,
    PRIMARY KEY (chat_id, person_id)
);

CREATE TABLE meta (
    key    TEXT PRIMARY KEY,
    value  TEXT NOT NULL
);
