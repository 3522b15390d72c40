-- foreign_keys: off
-- Make-up and field check-ins. An approved make-up request (补卡) or field check-in (外勤)
-- becomes a row of checkins, source 'makeup' or 'field', so every figure that counts
-- check-ins counts it, and every place that shows one can say what it is. A make-up has no
-- point: its latitude and longitude are NULL. A county admin may annul a check-in found false
-- (the row stays, marked with who, when and why; it no longer counts) and restore it; each
-- step is also an event. SQLite widens a CHECK only by rebuilding the table: rows and ids are
-- copied as they are (spot_responses.checkin_id still points at the same rows).

CREATE TABLE checkins_new (
    id           INTEGER PRIMARY KEY,
    person_id    INTEGER NOT NULL REFERENCES people(id),
    team_id      INTEGER REFERENCES teams(id),
    chat_id      INTEGER NOT NULL,
    message_id   INTEGER NOT NULL,  -- 0 for a make-up: it came from no message
    update_id    INTEGER NOT NULL,
    source       TEXT NOT NULL CHECK (source IN ('message', 'live_edit', 'makeup', 'field')),
    outcome      TEXT NOT NULL CHECK (outcome IN ('checkin', 'presence', 'repeat', 'refused')),
    reason       TEXT,
    flags        TEXT NOT NULL DEFAULT '',
    window_name  TEXT,
    local_date   TEXT NOT NULL,
    latitude     REAL,
    longitude    REAL,
    accuracy_m   REAL,
    live         INTEGER NOT NULL,
    forwarded    INTEGER NOT NULL DEFAULT 0,
    venue        INTEGER NOT NULL DEFAULT 0,
    site_id      INTEGER REFERENCES sites(id),
    distance_m   REAL,
    sent_at      TEXT NOT NULL,  -- for a make-up or field check-in: when it was approved
    received_at  TEXT NOT NULL,
    live_until   TEXT,
    annulled_at  TEXT,
    annulled_by  INTEGER REFERENCES people(id),
    annul_note   TEXT,
    CHECK (source = 'makeup' OR (latitude IS NOT NULL AND longitude IS NOT NULL)),
    CHECK ((annulled_at IS NULL) = (annulled_by IS NULL))
);
INSERT INTO checkins_new (
    id, person_id, team_id, chat_id, message_id, update_id, source, outcome, reason, flags,
    window_name, local_date, latitude, longitude, accuracy_m, live, forwarded, venue, site_id,
    distance_m, sent_at, received_at, live_until
)
SELECT
    id, person_id, team_id, chat_id, message_id, update_id, source, outcome, reason, flags,
    window_name, local_date, latitude, longitude, accuracy_m, live, forwarded, venue, site_id,
    distance_m, sent_at, received_at, live_until
FROM checkins;
DROP TABLE checkins;
ALTER TABLE checkins_new RENAME TO checkins;

CREATE UNIQUE INDEX checkins_message ON checkins (chat_id, message_id) WHERE source = 'message';
CREATE UNIQUE INDEX checkins_edit ON checkins (chat_id, message_id, sent_at)
    WHERE source = 'live_edit';
-- One counted check-in per member, team, day and window; an annulled one no longer holds it.
CREATE UNIQUE INDEX checkins_window ON checkins (person_id, team_id, local_date, window_name)
    WHERE outcome = 'checkin' AND annulled_at IS NULL;
CREATE INDEX checkins_team_day ON checkins (team_id, local_date);
CREATE INDEX checkins_person_day ON checkins (person_id, local_date);
CREATE INDEX checkins_point ON checkins (chat_id, message_id, sent_at);
CREATE INDEX checkins_live ON checkins (team_id, live_until)
    WHERE source = 'message' AND live_until IS NOT NULL;

CREATE TABLE checkin_requests (
    id            INTEGER PRIMARY KEY,
    kind          TEXT NOT NULL CHECK (kind IN ('makeup', 'field')),
    person_id     INTEGER NOT NULL REFERENCES people(id),
    team_id       INTEGER NOT NULL REFERENCES teams(id),
    local_date    TEXT NOT NULL,  -- the team's calendar day the check-in is for
    window_name   TEXT NOT NULL,
    reason        TEXT NOT NULL,
    attempt_id    INTEGER REFERENCES checkins(id),  -- field: the point refused as outside
    photo_file_id TEXT,  -- field: a photo sent with the reason (Telegram's file_id)
    level         TEXT NOT NULL CHECK (level IN ('leader', 'township', 'county')),
    state         TEXT NOT NULL DEFAULT 'pending'
                  CHECK (state IN ('pending', 'approved', 'rejected', 'cancelled')),
    chat_id       INTEGER NOT NULL,  -- where it was asked
    requested_at  TEXT NOT NULL,
    decided_at    TEXT,
    decided_by    INTEGER REFERENCES people(id),  -- NULL: counted at once by the county's rule
    note          TEXT,
    checkin_id    INTEGER REFERENCES checkins(id),  -- the check-in it became
    reminded_at   TEXT,  -- its deciders were reminded (the county's leave_remind hours)
    escalated_at  TEXT   -- and, after twice as long, the level above was asked too
);
CREATE INDEX checkin_requests_person ON checkin_requests (person_id, requested_at);
CREATE INDEX checkin_requests_team ON checkin_requests (team_id, state);
CREATE INDEX checkin_requests_waiting ON checkin_requests (requested_at) WHERE state = 'pending';
-- One open request per window: asking again while one waits is the same request.
CREATE UNIQUE INDEX checkin_requests_open
    ON checkin_requests (person_id, team_id, local_date, window_name) WHERE state = 'pending';

-- The approval copies sent for a request, so a decision edits every copy: the outbox row
-- (its message id once Telegram gave one).
CREATE TABLE checkin_request_messages (
    id          INTEGER PRIMARY KEY,
    request_id  INTEGER NOT NULL REFERENCES checkin_requests(id),
    person_id   INTEGER REFERENCES people(id),  -- NULL for a copy posted in a group
    chat_id     INTEGER NOT NULL,
    outbox_id   INTEGER NOT NULL REFERENCES outbox(id),
    UNIQUE (request_id, outbox_id)
);
CREATE INDEX checkin_request_messages_request ON checkin_request_messages (request_id);
