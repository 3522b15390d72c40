-- Leave requests (请销假), each decision on them, and the approval messages the bot sent, so
-- a decision can edit every approver's copy. A request is never deleted: cancelling,
-- rejecting and returning are states and dates on it, and each step is also an event.

CREATE TABLE leave_requests (
    id            INTEGER PRIMARY KEY,
    person_id     INTEGER NOT NULL REFERENCES people(id),
    team_id       INTEGER NOT NULL REFERENCES teams(id),
    kind          TEXT NOT NULL CHECK (kind IN ('personal', 'sick', 'official', 'other')),
    first_day     TEXT NOT NULL,  -- the team's calendar days, both included
    last_day      TEXT NOT NULL,
    reason        TEXT NOT NULL,
    route         TEXT NOT NULL,  -- the levels that decide, in order: 'leader,township'
    step          INTEGER NOT NULL DEFAULT 0,  -- index into route of the level deciding now
    state         TEXT NOT NULL DEFAULT 'pending'
                  CHECK (state IN ('pending', 'approved', 'rejected', 'cancelled')),
    chat_id       INTEGER NOT NULL,  -- where it was asked
    requested_at  TEXT NOT NULL,
    step_since    TEXT NOT NULL,  -- when the current step began, for reminders
    reminded_at   TEXT,  -- of the current step
    escalated_at  TEXT,  -- of the current step: the level above may decide too
    decided_at    TEXT,
    decided_by    INTEGER REFERENCES people(id),
    note          TEXT,  -- the reason given for a rejection
    returned_at   TEXT,
    returned_day  TEXT,  -- /back: leave ends the day before
    overdue_at    TEXT,  -- when the missing /back was flagged
    CHECK (last_day >= first_day)
);
CREATE INDEX leave_person ON leave_requests (person_id, state, first_day);
CREATE INDEX leave_team ON leave_requests (team_id, state, first_day);
CREATE INDEX leave_pending ON leave_requests (state, step_since) WHERE state = 'pending';

CREATE TABLE leave_decisions (
    id          INTEGER PRIMARY KEY,
    request_id  INTEGER NOT NULL REFERENCES leave_requests(id),
    step        INTEGER NOT NULL,
    level       TEXT NOT NULL CHECK (level IN ('leader', 'township', 'county')),
    decision    TEXT NOT NULL CHECK (decision IN ('approved', 'rejected')),
    decided_by  INTEGER NOT NULL REFERENCES people(id),
    decided_at  TEXT NOT NULL,
    note        TEXT,
    UNIQUE (request_id, step)  -- one decision per step, however many press at once
);

CREATE TABLE leave_messages (
    request_id  INTEGER NOT NULL REFERENCES leave_requests(id),
    person_id   INTEGER REFERENCES people(id),  -- NULL for a copy posted in a group
    purpose     TEXT NOT NULL CHECK (purpose IN ('approver', 'member')),
    chat_id     INTEGER NOT NULL,
    message_id  INTEGER NOT NULL,
    step        INTEGER NOT NULL,
    sent_at     TEXT NOT NULL,
    PRIMARY KEY (chat_id, message_id)
);
CREATE INDEX leave_messages_request ON leave_messages (request_id);
