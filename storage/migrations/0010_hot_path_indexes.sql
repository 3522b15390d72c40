-- Indexes for statements on hot paths that scanned whole tables (tests/test_plans.py checks
-- every statement the bot runs): a live location's last point (both (chat_id, message_id)
-- indexes are partial by source, and the query names none), a member's or an area's audit
-- verdicts (driven from the logs' day and from the time of the verdict).
CREATE INDEX checkins_point ON checkins (chat_id, message_id, sent_at);
CREATE INDEX visits_log ON visits (log_id);
CREATE INDEX audit_marks_marked ON audit_marks (marked_at);
-- Scheduled messages waiting to be rendered, by when they fall due and when they expire
-- (deliveries_due covers two states, which a query for one state cannot use).
CREATE INDEX deliveries_waiting ON deliveries (due_at, id) WHERE state = 'due';
CREATE INDEX deliveries_expiring ON deliveries (expires_at) WHERE state = 'due';
