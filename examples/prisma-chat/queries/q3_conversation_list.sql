-- name: Q3 conversation list
-- purpose: a user's 20 most recently active conversations, with their last read time.
-- param $1 text user: id of a sampled user (classes: median activity, top 1%)
SELECT c."id", c."type", c."title", c."lastMessageAt", cm."lastReadAt"
FROM "ConversationMember" cm
JOIN "Conversation" c ON c."id" = cm."conversationId"
WHERE cm."userId" = $1
  AND cm."isActive"
ORDER BY c."lastMessageAt" DESC NULLS LAST
LIMIT 20;
