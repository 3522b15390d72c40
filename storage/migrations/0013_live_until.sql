-- Until when a live location's first message said it would be shared: at a window's opening
-- a share still running inside a site becomes that window's check-in.
ALTER TABLE checkins ADD COLUMN live_until TEXT;
CREATE INDEX checkins_live ON checkins (team_id, live_until)
    WHERE source = 'message' AND live_until IS NOT NULL;
