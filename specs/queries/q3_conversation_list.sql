-- name: Q3 conversation list
-- purpose: a user's 20 most recently updated active conversations, with their lastReadAt.
-- param $1 bigint user: userId of a sampled user (classes: median activity, top 1%)
SELECT c."id", c."type", c."title", c."updatedAt", cu."lastReadAt"
FROM "conversation_users" cu
JOIN "conversations" c ON c."id" = cu."conversationId"
WHERE cu."userId" = $1
  AND cu."isActive"
ORDER BY c."updatedAt" DESC
LIMIT 20;
