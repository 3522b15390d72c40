-- The organisation (county -> township -> team), people, roles, attendance sites and the
-- audit trail of every change. All timestamps are UTC ISO-8601 text.

CREATE TABLE counties (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    tz          TEXT,
    created_at  TEXT NOT NULL
);

CREATE TABLE townships (
    id          INTEGER PRIMARY KEY,
    county_id   INTEGER NOT NULL REFERENCES counties(id),
    name        TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    UNIQUE (county_id, name)
);

-- One team = one village = one Telegram group. Teams created by import have a code and no
-- chat until their leader runs /setup <code> in the group.
CREATE TABLE teams (
    id           INTEGER PRIMARY KEY,
    township_id  INTEGER REFERENCES townships(id),
    code         TEXT UNIQUE COLLATE NOCASE,
    village      TEXT NOT NULL,
    tz           TEXT NOT NULL,
    chat_id      INTEGER UNIQUE,
    created_at   TEXT NOT NULL
);

CREATE TABLE people (
    id             INTEGER PRIMARY KEY,
    tg_user_id     INTEGER NOT NULL UNIQUE,
    first_name     TEXT NOT NULL,
    last_name      TEXT,
    username       TEXT,
    language_code  TEXT,
    created_at     TEXT NOT NULL,
    updated_at     TEXT NOT NULL
);

-- A role is never deleted: leaving revokes it, so who held what and when stays known.
CREATE TABLE roles (
    id           INTEGER PRIMARY KEY,
    person_id    INTEGER NOT NULL REFERENCES people(id),
    role         TEXT NOT NULL CHECK (role IN ('member', 'leader', 'coordinator', 'admin')),
    team_id      INTEGER REFERENCES teams(id),
    township_id  INTEGER REFERENCES townships(id),
    county_id    INTEGER REFERENCES counties(id),
    granted_at   TEXT NOT NULL,
    granted_by   INTEGER REFERENCES people(id),
    revoked_at   TEXT,
    revoked_by   INTEGER REFERENCES people(id),
    CHECK (
        (role IN ('member', 'leader') AND team_id IS NOT NULL)
        OR (role = 'coordinator' AND township_id IS NOT NULL)
        OR (role = 'admin' AND county_id IS NOT NULL)
    )
);
CREATE UNIQUE INDEX roles_active ON roles (
    person_id, role, COALESCE(team_id, 0), COALESCE(township_id, 0), COALESCE(county_id, 0)
) WHERE revoked_at IS NULL;
CREATE INDEX roles_team ON roles (team_id) WHERE revoked_at IS NULL;

-- WGS-84 centres. Removed sites stay, so past check-ins keep their site.
CREATE TABLE sites (
    id          INTEGER PRIMARY KEY,
    team_id     INTEGER NOT NULL REFERENCES teams(id),
    name        TEXT NOT NULL,
    latitude    REAL NOT NULL CHECK (latitude BETWEEN -90 AND 90),
    longitude   REAL NOT NULL CHECK (longitude BETWEEN -180 AND 180),
    radius_m    INTEGER NOT NULL CHECK (radius_m >= 50),
    created_at  TEXT NOT NULL,
    created_by  INTEGER REFERENCES people(id),
    removed_at  TEXT,
    removed_by  INTEGER REFERENCES people(id)
);
CREATE UNIQUE INDEX sites_active_name ON sites (team_id, name) WHERE removed_at IS NULL;

-- Who changed what, when. Written in the same transaction as the change itself.
CREATE TABLE events (
    id         INTEGER PRIMARY KEY,
    at         TEXT NOT NULL,
    actor_id   INTEGER REFERENCES people(id),
    kind       TEXT NOT NULL,
    team_id    INTEGER REFERENCES teams(id),
    data       TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX events_team ON events (team_id, at);
