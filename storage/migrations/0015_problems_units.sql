-- foreign_keys: off
-- The problem list (红黄绿三色清单), and backing units, recall, assessment and briefs.
--
-- Problems: villagers' problems raised by a team, coloured by urgency, each colour with a
-- deadline, escalated from the village to the township and the county, assigned there to a
-- county department whose contacts solve it, and confirmed by the team.
-- Units: every member is sent by a backing unit (后盾单位), which stays responsible when
-- members rotate. A recall ends a member's role and gives the unit a deadline to send a
-- replacement, who joins with an invite naming the recall. A grade is entered by the county,
-- never computed; each one is kept. Teams send information briefs (信息简报).
--
-- Three roles join: a village's chief commander (总队长, of a team), a department's contact
-- and a backing unit's contact. SQLite widens a CHECK only by rebuilding the table: roles and
-- invites are copied as they are, ids included, once.

CREATE TABLE departments (
    id          INTEGER PRIMARY KEY,
    county_id   INTEGER NOT NULL REFERENCES counties(id),
    name        TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    UNIQUE (county_id, name)
);

CREATE TABLE units (
    id          INTEGER PRIMARY KEY,
    county_id   INTEGER NOT NULL REFERENCES counties(id),
    name        TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    UNIQUE (county_id, name)
);

CREATE TABLE roles_new (
    id             INTEGER PRIMARY KEY,
    person_id      INTEGER NOT NULL REFERENCES people(id),
    role           TEXT NOT NULL CHECK (role IN ('member', 'leader', 'coordinator', 'admin',
                                                 'commander', 'contact', 'unit')),
    team_id        INTEGER REFERENCES teams(id),
    township_id    INTEGER REFERENCES townships(id),
    county_id      INTEGER REFERENCES counties(id),
    department_id  INTEGER REFERENCES departments(id),
    unit_id        INTEGER REFERENCES units(id),
    granted_at     TEXT NOT NULL,
    granted_by     INTEGER REFERENCES people(id),
    revoked_at     TEXT,
    revoked_by     INTEGER REFERENCES people(id),
    CHECK (
        (role IN ('member', 'leader', 'commander') AND team_id IS NOT NULL)
        OR (role = 'coordinator' AND township_id IS NOT NULL)
        OR (role = 'admin' AND county_id IS NOT NULL)
        OR (role = 'contact' AND department_id IS NOT NULL)
        OR (role = 'unit' AND unit_id IS NOT NULL)
    )
);
INSERT INTO roles_new (id, person_id, role, team_id, township_id, county_id, granted_at,
                       granted_by, revoked_at, revoked_by)
    SELECT id, person_id, role, team_id, township_id, county_id, granted_at, granted_by,
           revoked_at, revoked_by FROM roles;
DROP TABLE roles;
ALTER TABLE roles_new RENAME TO roles;
CREATE UNIQUE INDEX roles_active ON roles (
    person_id, role, COALESCE(team_id, 0), COALESCE(township_id, 0), COALESCE(county_id, 0),
    COALESCE(department_id, 0), COALESCE(unit_id, 0)
) WHERE revoked_at IS NULL;
CREATE INDEX roles_team ON roles (team_id) WHERE revoked_at IS NULL;
CREATE INDEX roles_department ON roles (department_id) WHERE revoked_at IS NULL;
CREATE INDEX roles_unit ON roles (unit_id) WHERE revoked_at IS NULL;
-- Who was a member of a team since a day (a recalled member's year stays readable).
CREATE INDEX roles_team_history ON roles (team_id, revoked_at) WHERE role = 'member';

CREATE TABLE invites_new (
    code           TEXT PRIMARY KEY,
    role           TEXT NOT NULL CHECK (role IN ('coordinator', 'admin', 'commander', 'contact',
                                                 'unit', 'member', 'leader')),
    township_id    INTEGER REFERENCES townships(id),
    county_id      INTEGER REFERENCES counties(id),
    team_id        INTEGER REFERENCES teams(id),
    department_id  INTEGER REFERENCES departments(id),
    unit_id        INTEGER REFERENCES units(id),
    recall_id      INTEGER,  -- a replacement's invite names the recall it closes
    made_for       TEXT,     -- the name on the county's roster the invite was made from
    created_at     TEXT NOT NULL,
    expires_at     TEXT NOT NULL,
    used_at        TEXT,
    used_by        INTEGER REFERENCES people(id),
    CHECK ((role = 'coordinator' AND township_id IS NOT NULL)
           OR (role = 'admin' AND county_id IS NOT NULL)
           OR (role = 'commander' AND team_id IS NOT NULL)
           OR (role = 'contact' AND department_id IS NOT NULL)
           OR (role = 'unit' AND unit_id IS NOT NULL)
           OR (role IN ('member', 'leader') AND team_id IS NOT NULL))
);
INSERT INTO invites_new (code, role, township_id, county_id, created_at, expires_at, used_at,
                         used_by)
    SELECT code, role, township_id, county_id, created_at, expires_at, used_at, used_by
    FROM invites;
DROP TABLE invites;
ALTER TABLE invites_new RENAME TO invites;

-- Which unit sent a member, from when until when (a member moved to another unit keeps the
-- first row, ended).
CREATE TABLE member_units (
    id          INTEGER PRIMARY KEY,
    person_id   INTEGER NOT NULL REFERENCES people(id),
    unit_id     INTEGER NOT NULL REFERENCES units(id),
    since       TEXT NOT NULL,
    until       TEXT,
    set_by      INTEGER REFERENCES people(id)
);
CREATE UNIQUE INDEX member_units_now ON member_units (person_id) WHERE until IS NULL;
CREATE INDEX member_units_unit ON member_units (unit_id, until);

-- A recall (召回): ordered by a county admin, confirmed with a button, effective on a day;
-- the unit has until ``due_at`` to send a replacement, whose invite closes it.
CREATE TABLE recalls (
    id              INTEGER PRIMARY KEY,
    person_id       INTEGER NOT NULL REFERENCES people(id),
    team_id         INTEGER NOT NULL REFERENCES teams(id),
    unit_id         INTEGER REFERENCES units(id),
    reason          TEXT NOT NULL,
    ordered_by      INTEGER NOT NULL REFERENCES people(id),
    ordered_at      TEXT NOT NULL,
    state           TEXT NOT NULL DEFAULT 'asked'
                        CHECK (state IN ('asked', 'open', 'closed', 'dropped')),
    effective_day   TEXT,
    due_at          TEXT,
    flagged_day     TEXT,  -- the last local day the county was told it is overdue
    closed_at       TEXT,
    replacement_id  INTEGER REFERENCES people(id)
);
CREATE INDEX recalls_open ON recalls (due_at) WHERE state = 'open';
CREATE INDEX recalls_person ON recalls (person_id);
CREATE INDEX recalls_team ON recalls (team_id, ordered_at);
CREATE INDEX recalls_unit ON recalls (unit_id);

CREATE TABLE recall_notes (
    id          INTEGER PRIMARY KEY,
    recall_id   INTEGER NOT NULL REFERENCES recalls(id),
    at          TEXT NOT NULL,
    by          INTEGER NOT NULL REFERENCES people(id),
    note        TEXT NOT NULL
);
CREATE INDEX recall_notes_recall ON recall_notes (recall_id, id);

-- Grades entered by the county for a period (2026-Q4, 2026, or a posting); the newest of a
-- person's period counts, every one is kept.
CREATE TABLE assessments (
    id          INTEGER PRIMARY KEY,
    person_id   INTEGER NOT NULL REFERENCES people(id),
    period      TEXT NOT NULL,
    grade       TEXT NOT NULL,
    note        TEXT NOT NULL,
    by          INTEGER NOT NULL REFERENCES people(id),
    at          TEXT NOT NULL
);
CREATE INDEX assessments_person ON assessments (person_id, period, id);

-- Information briefs (信息简报) a team sends: text, a photo or a document.
CREATE TABLE briefs (
    id          INTEGER PRIMARY KEY,
    team_id     INTEGER NOT NULL REFERENCES teams(id),
    person_id   INTEGER NOT NULL REFERENCES people(id),
    chat_id     INTEGER NOT NULL,
    message_id  INTEGER NOT NULL,
    text        TEXT NOT NULL,
    file_id     TEXT,
    file_kind   TEXT CHECK (file_kind IN ('photo', 'document')),
    local_date  TEXT NOT NULL,
    sent_at     TEXT NOT NULL,
    UNIQUE (chat_id, message_id)
);
CREATE INDEX briefs_team ON briefs (team_id, local_date);


-- One problem. ``level`` is where it waits: the team, the township or the county (there
-- possibly with a department). ``due_at`` is the colour's deadline counted from when it
-- reached its level; past it, the sweep moves it up once (``overdue_at`` claims that).
-- States: open (being worked on), resolved (a note says how; the team is to confirm with
-- the household), closed (confirmed). Not solved after all reopens it. Nothing is deleted.
CREATE TABLE problems (
    id              INTEGER PRIMARY KEY,
    team_id         INTEGER NOT NULL REFERENCES teams(id),
    person_id       INTEGER NOT NULL REFERENCES people(id),  -- who raised it
    chat_id         INTEGER NOT NULL,
    message_id      INTEGER NOT NULL,
    media_group_id  TEXT,
    text            TEXT NOT NULL,
    villager        TEXT,  -- who among the villagers raised it, as written
    category        TEXT NOT NULL,
    colour          TEXT NOT NULL CHECK (colour IN ('red', 'yellow', 'green')),
    colour_by       INTEGER REFERENCES people(id),  -- NULL: the default, chosen by nobody
    level           TEXT NOT NULL CHECK (level IN ('team', 'township', 'county')),
    department_id   INTEGER REFERENCES departments(id),
    accepted_at     TEXT,
    state           TEXT NOT NULL DEFAULT 'open' CHECK (state IN ('open', 'resolved', 'closed')),
    raised_at       TEXT NOT NULL,
    level_since     TEXT NOT NULL,
    due_at          TEXT NOT NULL,
    overdue_at      TEXT,
    resolved_at     TEXT,
    resolved_by     INTEGER REFERENCES people(id),
    resolution      TEXT,
    resolution_photo TEXT,
    closed_at       TEXT,
    closed_by       INTEGER REFERENCES people(id),
    revisions       INTEGER NOT NULL DEFAULT 1,
    UNIQUE (chat_id, message_id)
);
CREATE INDEX problems_team ON problems (team_id, state);
CREATE INDEX problems_album ON problems (chat_id, media_group_id) WHERE media_group_id IS NOT NULL;
CREATE INDEX problems_due ON problems (due_at) WHERE state = 'open' AND overdue_at IS NULL;
CREATE INDEX problems_department ON problems (department_id, state)
    WHERE department_id IS NOT NULL;
CREATE INDEX problems_raised ON problems (team_id, raised_at);
CREATE INDEX problems_closed ON problems (team_id, closed_at) WHERE closed_at IS NOT NULL;

-- Every step in a problem's life, with who (NULL: the deadline), when and why: raised,
-- edited (the text before and after), colour, category, escalated, assigned, accepted,
-- progress, resolved, confirmed, reopened, overdue.
CREATE TABLE problem_steps (
    id          INTEGER PRIMARY KEY,
    problem_id  INTEGER NOT NULL REFERENCES problems(id),
    at          TEXT NOT NULL,
    actor_id    INTEGER REFERENCES people(id),
    kind        TEXT NOT NULL,
    before      TEXT,
    after       TEXT,
    note        TEXT,
    photo       TEXT
);
CREATE INDEX problem_steps_problem ON problem_steps (problem_id, id);

CREATE TABLE problem_photos (
    id              INTEGER PRIMARY KEY,
    problem_id      INTEGER NOT NULL REFERENCES problems(id),
    file_id         TEXT NOT NULL,
    file_unique_id  TEXT NOT NULL,
    message_id      INTEGER NOT NULL,
    added_at        TEXT NOT NULL,
    UNIQUE (problem_id, file_unique_id)
);

CREATE TABLE problem_households (
    problem_id    INTEGER NOT NULL REFERENCES problems(id),
    household_id  INTEGER NOT NULL REFERENCES households(id),
    PRIMARY KEY (problem_id, household_id)
);

-- A member's assessment counts the problems they raised and solved.
CREATE INDEX problems_person ON problems (person_id, raised_at);
CREATE INDEX problems_resolver ON problems (resolved_by, closed_at) WHERE state = 'closed';
