-- Every location a member shares, accepted or not, exactly as it arrived, with the verdict.
-- Rows are only ever added: a refused attempt is evidence too (forwarded pins, stale shares).

ALTER TABLE counties ADD COLUMN policy TEXT;

CREATE TABLE checkins (
    id           INTEGER PRIMARY KEY,
    person_id    INTEGER NOT NULL REFERENCES people(id),
    team_id      INTEGER REFERENCES teams(id),  -- NULL when the sender is in no team
    chat_id      INTEGER NOT NULL,
    message_id   INTEGER NOT NULL,
    update_id    INTEGER NOT NULL,
    source       TEXT NOT NULL CHECK (source IN ('message', 'live_edit')),
    outcome      TEXT NOT NULL CHECK (outcome IN ('checkin', 'presence', 'repeat', 'refused')),
    reason       TEXT,
    flags        TEXT NOT NULL DEFAULT '',
    window_name  TEXT,
    local_date   TEXT NOT NULL,  -- the team's calendar day (YYYY-MM-DD) the message was sent on
    latitude     REAL NOT NULL,
    longitude    REAL NOT NULL,
    accuracy_m   REAL,
    live         INTEGER NOT NULL,
    forwarded    INTEGER NOT NULL DEFAULT 0,
    venue        INTEGER NOT NULL DEFAULT 0,
    site_id      INTEGER REFERENCES sites(id),
    distance_m   REAL,
    sent_at      TEXT NOT NULL,  -- message date, or edit date of a live update (UTC)
    received_at  TEXT NOT NULL
);
-- The same message delivered twice is one attempt; a live update is one point per edit time.
CREATE UNIQUE INDEX checkins_message ON checkins (chat_id, message_id) WHERE source = 'message';
CREATE UNIQUE INDEX checkins_edit ON checkins (chat_id, message_id, sent_at)
    WHERE source = 'live_edit';
-- One counted check-in per member, team, day and window.
CREATE UNIQUE INDEX checkins_window ON checkins (person_id, team_id, local_date, window_name)
    WHERE outcome = 'checkin';
CREATE INDEX checkins_team_day ON checkins (team_id, local_date);
CREATE INDEX checkins_person_day ON checkins (person_id, local_date);
