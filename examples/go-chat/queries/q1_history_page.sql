-- name: Q1 history page
-- purpose: a channel's latest 60 live posts, newest first (opening a channel); soft-deleted posts have deleteat <> 0.
-- param $1 text conversation: id of a sampled channel (classes: median, p95, heavy)
SELECT p.id, p.userid, p.type, p.message, p.createat
FROM posts p
WHERE p.channelid = $1
  AND p.deleteat = 0
ORDER BY p.createat DESC
LIMIT 60;
