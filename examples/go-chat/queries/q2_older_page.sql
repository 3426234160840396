-- name: Q2 older page
-- purpose: the 60 live posts before a cursor (scrolling up); times are epoch milliseconds.
-- param $1 text conversation: id of a sampled channel (classes: median, p95, heavy)
-- param $2 timestamptz conversation_cursor: a createdAt in the middle of that channel
SELECT p.id, p.userid, p.type, p.message, p.createat
FROM posts p
WHERE p.channelid = $1
  AND p.createat < (extract(epoch FROM $2::timestamptz) * 1000)::bigint
  AND p.deleteat = 0
ORDER BY p.createat DESC
LIMIT 60;
