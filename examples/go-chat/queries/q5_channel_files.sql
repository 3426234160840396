-- name: Q5 channel files
-- purpose: the latest 20 live files posted in a channel (the files panel).
-- param $1 text conversation: id of a sampled channel (classes: median, p95, heavy)
SELECT f.id, f.name, f.size, f.mimetype, f.createat
FROM posts p
JOIN fileinfo f ON f.postid = p.id AND f.deleteat = 0
WHERE p.channelid = $1
  AND p.deleteat = 0
ORDER BY f.createat DESC
LIMIT 20;
