-- Daily work logs (工作日志), the household register and ledger of visits (走访台账), reverse
-- checks of visits by inspectors (逆向检查), and monthly work summaries (工作小结).
-- Nothing here is deleted or overwritten: an edit adds a revision, an unlinked household keeps
-- its visit row with who removed it, a second verdict is a new mark.

CREATE TABLE households (
    id          INTEGER PRIMARY KEY,
    team_id     INTEGER NOT NULL REFERENCES teams(id),
    name        TEXT NOT NULL COLLATE NOCASE,
    note        TEXT,
    source      TEXT NOT NULL CHECK (source IN ('command', 'import', 'log')),
    created_at  TEXT NOT NULL,
    created_by  INTEGER REFERENCES people(id),  -- NULL when imported from the command line
    UNIQUE (team_id, name)
);

CREATE TABLE work_logs (
    id              INTEGER PRIMARY KEY,
    person_id       INTEGER NOT NULL REFERENCES people(id),
    team_id         INTEGER NOT NULL REFERENCES teams(id),
    local_date      TEXT NOT NULL,  -- the team's calendar day the message was written on
    chat_id         INTEGER NOT NULL,
    message_id      INTEGER NOT NULL,
    media_group_id  TEXT,  -- an album: its other photos join this log
    written_at      TEXT NOT NULL,  -- the message's date (UTC)
    received_at     TEXT NOT NULL,
    UNIQUE (chat_id, message_id)
);
CREATE INDEX work_logs_team_day ON work_logs (team_id, local_date);
CREATE INDEX work_logs_person_day ON work_logs (person_id, local_date);
CREATE INDEX work_logs_album ON work_logs (chat_id, media_group_id)
    WHERE media_group_id IS NOT NULL;

-- Revision 1 is the text as first sent; each edit of the message adds the next one.
CREATE TABLE log_revisions (
    log_id       INTEGER NOT NULL REFERENCES work_logs(id),
    revision     INTEGER NOT NULL,
    text         TEXT NOT NULL,
    edited_at    TEXT NOT NULL,  -- the message's date, or its edit date
    received_at  TEXT NOT NULL,
    PRIMARY KEY (log_id, revision)
);

CREATE TABLE log_photos (
    id              INTEGER PRIMARY KEY,
    log_id          INTEGER NOT NULL REFERENCES work_logs(id),
    chat_id         INTEGER NOT NULL,
    message_id      INTEGER NOT NULL,
    file_id         TEXT NOT NULL,  -- Telegram keeps the file; this sends it again
    file_unique_id  TEXT NOT NULL,
    caption         TEXT,
    added_at        TEXT NOT NULL,
    UNIQUE (log_id, file_unique_id)
);

-- One row per household a log names: a ledger entry, the unit a reverse check verifies.
CREATE TABLE visits (
    id            INTEGER PRIMARY KEY,
    log_id        INTEGER NOT NULL REFERENCES work_logs(id),
    household_id  INTEGER NOT NULL REFERENCES households(id),
    how           TEXT NOT NULL CHECK (how IN ('mention', 'button', 'edit')),
    added_at      TEXT NOT NULL,
    added_by      INTEGER NOT NULL REFERENCES people(id),
    removed_at    TEXT,
    removed_by    INTEGER REFERENCES people(id)
);
CREATE UNIQUE INDEX visits_current ON visits (log_id, household_id) WHERE removed_at IS NULL;
CREATE INDEX visits_household ON visits (household_id);

-- A sample drawn for an inspector, and the visits in it; a visit is drawn at most once.
CREATE TABLE audit_samples (
    id        INTEGER PRIMARY KEY,
    team_id   INTEGER NOT NULL REFERENCES teams(id),
    asked     INTEGER NOT NULL,
    drawn_by  INTEGER NOT NULL REFERENCES people(id),
    drawn_at  TEXT NOT NULL
);
CREATE TABLE audit_sample_visits (
    sample_id  INTEGER NOT NULL REFERENCES audit_samples(id),
    visit_id   INTEGER NOT NULL UNIQUE REFERENCES visits(id),
    PRIMARY KEY (sample_id, visit_id)
);

-- An inspector's verdict on a visit; the newest mark is the verdict, earlier ones stay.
CREATE TABLE audit_marks (
    id         INTEGER PRIMARY KEY,
    visit_id   INTEGER NOT NULL REFERENCES visits(id),
    verdict    TEXT NOT NULL CHECK (verdict IN ('ok', 'false')),
    note       TEXT NOT NULL,
    marked_by  INTEGER NOT NULL REFERENCES people(id),
    marked_at  TEXT NOT NULL
);
CREATE INDEX audit_marks_visit ON audit_marks (visit_id, id);

-- A team's monthly summary; sending again adds a version, the newest is the summary.
CREATE TABLE monthly_summaries (
    id          INTEGER PRIMARY KEY,
    team_id     INTEGER NOT NULL REFERENCES teams(id),
    month       TEXT NOT NULL,  -- YYYY-MM
    person_id   INTEGER NOT NULL REFERENCES people(id),
    text        TEXT NOT NULL,
    file_id     TEXT,
    file_name   TEXT,
    chat_id     INTEGER NOT NULL,
    message_id  INTEGER NOT NULL,
    sent_at     TEXT NOT NULL,
    UNIQUE (chat_id, message_id)
);
CREATE INDEX monthly_summaries_month ON monthly_summaries (month, team_id);
