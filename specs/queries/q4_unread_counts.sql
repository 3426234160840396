-- name: Q4 unread counts
-- purpose: for each active conversation of a user, the messages after their lastReadAt not sent by them.
-- param $1 bigint user: userId of a sampled user (classes: median activity, top 1%)
SELECT cu."conversationId", count(m."id") AS "unread"
FROM "conversation_users" cu
JOIN "messages" m
  ON m."conversationId" = cu."conversationId"
 AND m."createdAt" > coalesce(cu."lastReadAt", '-infinity'::timestamptz)
 AND m."senderId" <> cu."userId"
WHERE cu."userId" = $1
  AND cu."isActive"
GROUP BY cu."conversationId";
