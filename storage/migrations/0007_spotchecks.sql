-- Spot checks: "where are you right now?" asked of members picked at random, each answer
-- judged with the check-in rules and kept per member. Results are never rewritten: a late
-- answer is added beside the result it came too late for, and every change is an event.

-- A county's scheduled checks for one township and week, each at its own random moment.
CREATE TABLE spot_plans (
    id          INTEGER PRIMARY KEY,
    township_id INTEGER NOT NULL REFERENCES townships(id),
    week        TEXT NOT NULL,   -- '2026-W48'
    due_at      TEXT NOT NULL,
    count       INTEGER NOT NULL DEFAULT 1,
    minutes     INTEGER NOT NULL,
    state       TEXT NOT NULL DEFAULT 'planned' CHECK (state IN ('planned', 'done', 'skipped')),
    created_at  TEXT NOT NULL
);
CREATE INDEX spot_plans_due ON spot_plans (due_at) WHERE state = 'planned';

CREATE TABLE spot_checks (
    id          INTEGER PRIMARY KEY,
    area        TEXT NOT NULL,   -- what the members were drawn from: 'team:5', 'township:2', …
    area_name   TEXT NOT NULL,
    ordered_by  INTEGER REFERENCES people(id),   -- NULL: the county's schedule
    plan_id     INTEGER UNIQUE REFERENCES spot_plans(id),
    asked_at    TEXT NOT NULL,
    deadline    TEXT NOT NULL,
    state       TEXT NOT NULL DEFAULT 'open' CHECK (state IN ('open', 'closed')),
    closed_at   TEXT
);
CREATE INDEX spot_checks_open ON spot_checks (deadline) WHERE state = 'open';

CREATE TABLE spot_picks (
    id          INTEGER PRIMARY KEY,
    check_id    INTEGER NOT NULL REFERENCES spot_checks(id),
    person_id   INTEGER NOT NULL REFERENCES people(id),
    team_id     INTEGER NOT NULL REFERENCES teams(id),
    local_date  TEXT NOT NULL,   -- the team's day of the check
    named       INTEGER NOT NULL DEFAULT 0,   -- named by the coordinator, not drawn
    chat_id     INTEGER NOT NULL,   -- where the question went: their private chat or the group
    result      TEXT NOT NULL DEFAULT 'pending'
                CHECK (result IN ('pending', 'present', 'away', 'no_answer', 'unreached')),
    -- The first answer that could be judged, in time or late.
    answer      TEXT CHECK (answer IN ('present', 'away')),
    answered_at TEXT,   -- when it was sent
    late        INTEGER NOT NULL DEFAULT 0,
    checkin_id  INTEGER REFERENCES checkins(id),
    site_name   TEXT,
    distance_m  REAL,
    refused     TEXT NOT NULL DEFAULT '[]',   -- why earlier answers could not count
    UNIQUE (check_id, person_id)
);
CREATE INDEX spot_picks_person ON spot_picks (person_id, local_date);
CREATE INDEX spot_picks_team ON spot_picks (team_id, local_date);
