-- name: Q2 older page
-- purpose: the 50 messages before a cursor (scrolling up in a chat).
-- param $1 text conversation: id of a sampled conversation (classes: median, p95, heavy)
-- param $2 timestamp conversation_cursor: a createdAt in the middle of that conversation
SELECT m."id", m."senderId", m."type", m."content", m."createdAt"
FROM "Message" m
WHERE m."conversationId" = $1
  AND m."createdAt" < $2
  AND m."deletedAt" IS NULL
ORDER BY m."createdAt" DESC
LIMIT 50;
