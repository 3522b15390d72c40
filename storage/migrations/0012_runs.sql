-- When the bot was fetching updates: a row per run, whose ``listening_until`` each poll moves
-- on. A location sent inside a run reached the bot at once, so one that arrives late is stale;
-- one sent between runs waited at Telegram and is judged by its own time.
CREATE TABLE runs (
    id               INTEGER PRIMARY KEY,
    started_at       TEXT NOT NULL,
    listening_until  TEXT NOT NULL
);
CREATE INDEX runs_listening ON runs (listening_until);
