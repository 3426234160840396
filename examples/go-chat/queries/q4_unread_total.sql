-- name: Q4 unread total
-- purpose: a user's unread posts over all their channels (the badge), from the per-member read cursors.
-- param $1 text user: id of a sampled user (classes: median activity, top 1%)
SELECT coalesce(sum(c.totalmsgcount - cm.msgcount), 0) AS unread
FROM channelmembers cm
JOIN channels c ON c.id = cm.channelid
WHERE cm.userid = $1
  AND c.deleteat = 0;
