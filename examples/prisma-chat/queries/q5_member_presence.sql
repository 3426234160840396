-- name: Q5 member presence
-- purpose: a conversation's active members with their last-seen time (the member list panel).
-- param $1 text conversation: id of a sampled conversation (classes: median, p95, heavy)
SELECT u."id", u."name", u."lastSeenAt", cm."role"
FROM "ConversationMember" cm
JOIN "User" u ON u."id" = cm."userId"
WHERE cm."conversationId" = $1
  AND cm."isActive"
ORDER BY u."lastSeenAt" DESC NULLS LAST
LIMIT 50;
