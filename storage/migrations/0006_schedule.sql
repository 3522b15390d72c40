-- Scheduled messages: reminders and digests. Each is planned once and sent once per
-- recipient and period, so a restart or a crash in the middle of a fan-out neither loses nor
-- repeats one. The rows are also the record of what was sent to whom, and when.

-- When the person last wrote to the bot privately (Telegram lets a bot write to them only
-- after that), and when a private message to them was last refused (they blocked the bot).
ALTER TABLE people ADD COLUMN private_at TEXT;
ALTER TABLE people ADD COLUMN private_lost_at TEXT;

CREATE TABLE deliveries (
    id          INTEGER PRIMARY KEY,
    kind        TEXT NOT NULL,  -- 'digest.weekly', 'digest.monthly', 'remind.open', …
    period      TEXT NOT NULL,  -- '2026-W47', '2026-11', '2026-11-23:morning', '2026-11-23'
    recipient   TEXT NOT NULL,  -- 'person:12', or 'chat:-100123' for a message in a group
    chat_id     INTEGER NOT NULL,
    person_id   INTEGER REFERENCES people(id),
    team_id     INTEGER REFERENCES teams(id),
    payload     TEXT NOT NULL DEFAULT '{}',  -- what to render: the scope, whom to mention
    due_at      TEXT NOT NULL,
    expires_at  TEXT,  -- a reminder still unsent by then is no longer worth sending
    state       TEXT NOT NULL DEFAULT 'due'
                CHECK (state IN ('due', 'sending', 'sent', 'failed', 'expired')),
    parts_sent  INTEGER NOT NULL DEFAULT 0,  -- a digest is a text, a chart and a spreadsheet
    uncertain   INTEGER NOT NULL DEFAULT 0,  -- parts a crash left on the wire, not resent
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL,
    sent_at     TEXT,
    error       TEXT,
    UNIQUE (kind, period, recipient)
);
CREATE INDEX deliveries_due ON deliveries (due_at, id) WHERE state IN ('due', 'sending');
CREATE INDEX deliveries_person ON deliveries (person_id, kind, period);

-- A slot planned for a team or a county: the jobs look every minute but plan each slot once.
CREATE TABLE delivery_plans (
    kind        TEXT NOT NULL,
    period      TEXT NOT NULL,
    scope       TEXT NOT NULL,  -- 'team:5', 'county:1', 'county:-' (teams in no county)
    planned_at  TEXT NOT NULL,
    PRIMARY KEY (kind, period, scope)
);

-- A team's reminder times or switches over its county's, and a member's switches.
CREATE TABLE reminder_settings (
    scope       TEXT NOT NULL CHECK (scope IN ('team', 'person')),
    scope_id    INTEGER NOT NULL,
    words       TEXT NOT NULL DEFAULT '{}',
    updated_at  TEXT NOT NULL,
    updated_by  INTEGER REFERENCES people(id),
    PRIMARY KEY (scope, scope_id)
);
