-- name: Q1 history page
-- purpose: the latest 50 messages of a conversation, newest first (opening a chat), as the app's ORM asks for them.
-- param $1 text conversation: id of a sampled conversation (classes: median, p95, heavy)
SELECT m."id", m."senderId", m."type", m."content", m."createdAt"
FROM "Message" m
WHERE m."conversationId" = $1
  AND m."deletedAt" IS NULL
ORDER BY m."createdAt" DESC
LIMIT 50;
