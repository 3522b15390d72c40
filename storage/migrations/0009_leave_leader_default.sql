-- Upgrade note: team leaders now approve leave first by default (leave_leader=on), then the
-- township (up to leave_township days) or the county. Policies are stored whole, so a county
-- that never chose leave_leader holds the old default 'off'; it is switched to 'on' here. A
-- county whose admins turned the leader step off (a policy.set from 'on' to 'off') keeps it,
-- as does the deployment default when set so. Each switch is an event. Counties that want
-- the old route: cunbot rules --county <name> leave_leader=off (or /rules set leave_leader=off).

CREATE TEMP TABLE leader_default_keep AS
SELECT DISTINCT json_extract(data, '$.county_id') AS county_id
FROM events
WHERE kind = 'policy.set'
  AND json_extract(json_extract(data, '$.new'), '$.leave_leader') = 'off'
  AND json_extract(json_extract(data, '$.old'), '$.leave_leader') = 'on';

INSERT INTO events (at, actor_id, kind, team_id, data)
SELECT strftime('%Y-%m-%dT%H:%M:%S.000000+00:00', 'now'), NULL, 'policy.leader_default', NULL,
       json_object('county_id', id, 'leave_leader', 'on')
FROM counties
WHERE json_extract(policy, '$.leave_leader') = 'off'
  AND id NOT IN (SELECT county_id FROM leader_default_keep WHERE county_id IS NOT NULL);

UPDATE counties SET policy = json_set(policy, '$.leave_leader', 'on')
WHERE json_extract(policy, '$.leave_leader') = 'off'
  AND id NOT IN (SELECT county_id FROM leader_default_keep WHERE county_id IS NOT NULL);

INSERT INTO events (at, actor_id, kind, team_id, data)
SELECT strftime('%Y-%m-%dT%H:%M:%S.000000+00:00', 'now'), NULL, 'policy.leader_default', NULL,
       json_object('county_id', NULL, 'leave_leader', 'on')
FROM meta
WHERE key = 'policy.default' AND json_extract(value, '$.leave_leader') = 'off'
  AND NOT EXISTS (SELECT 1 FROM leader_default_keep WHERE county_id IS NULL);

UPDATE meta SET value = json_set(value, '$.leave_leader', 'on')
WHERE key = 'policy.default' AND json_extract(value, '$.leave_leader') = 'off'
  AND NOT EXISTS (SELECT 1 FROM leader_default_keep WHERE county_id IS NULL);

DROP TABLE leader_default_keep;
