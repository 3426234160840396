-- name: Q5 conversation previews
-- purpose: for a user's 20 most recent conversations, the last message of each (LATERAL join).
-- param $1 bigint user: userId of a sampled user (classes: median activity, top 1%)
SELECT recent."id", recent."updatedAt", last_message."id" AS "lastMessageId",
       last_message."content", last_message."createdAt" AS "lastMessageAt"
FROM (
    SELECT c."id", c."updatedAt"
    FROM "conversation_users" cu
    JOIN "conversations" c ON c."id" = cu."conversationId"
    WHERE cu."userId" = $1
    ORDER BY c."updatedAt" DESC
    LIMIT 20
) recent
CROSS JOIN LATERAL (
    SELECT m."id", m."content", m."createdAt"
    FROM "messages" m
    WHERE m."conversationId" = recent."id"
    ORDER BY m."createdAt" DESC
    LIMIT 1
) last_message
ORDER BY recent."updatedAt" DESC;
