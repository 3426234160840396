-- name: Q1 message history
-- purpose: the latest 50 messages of a conversation, newest first (opening a chat).
-- param $1 bigint conversation: conversationId of a sampled room (classes: median, p95, heavy)
SELECT m."id", m."senderId", m."type", m."content", m."createdAt"
FROM "messages" m
WHERE m."conversationId" = $1
ORDER BY m."createdAt" DESC
LIMIT 50;
