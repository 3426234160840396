-- name: Q2 older page
-- purpose: the 50 messages before a given createdAt in a conversation (keyset pagination).
-- param $1 bigint conversation: conversationId of a sampled room (classes: median, p95, heavy)
-- param $2 timestamptz conversation_cursor: the createdAt of the message in the middle of that room
SELECT m."id", m."senderId", m."type", m."content", m."createdAt"
FROM "messages" m
WHERE m."conversationId" = $1
  AND m."createdAt" < $2
ORDER BY m."createdAt" DESC
LIMIT 50;
