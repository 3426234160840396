-- name: Q4 unread count
-- purpose: the messages of one conversation a member has not read, as an anti-join on the reads table.
-- param $1 text member_user: id of a sampled user (classes: median activity, top 1%)
-- param $2 text member_conversation: the busiest conversation that user is a member of
SELECT count(*) AS "unread"
FROM "Message" m
LEFT JOIN "MessageRead" mr ON mr."messageId" = m."id" AND mr."userId" = $1
WHERE m."conversationId" = $2
  AND m."senderId" <> $1
  AND mr."id" IS NULL;
