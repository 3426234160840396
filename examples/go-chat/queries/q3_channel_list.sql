-- name: Q3 channel list
-- purpose: a user's 20 most recently active channels with their unread counts (the channel's total minus the member's count at its read cursor).
-- param $1 text user: id of a sampled user (classes: median activity, top 1%)
SELECT c.id, c.type, c.displayname, c.lastpostat, c.totalmsgcount - cm.msgcount AS unread
FROM channelmembers cm
JOIN channels c ON c.id = cm.channelid
WHERE cm.userid = $1
  AND c.deleteat = 0
ORDER BY c.lastpostat DESC
LIMIT 20;
