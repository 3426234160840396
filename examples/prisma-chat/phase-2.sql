-- Phase-2 indexes for the prisma-chat example's hot-path queries (queries/).
-- Built with CREATE INDEX CONCURRENTLY; names unqualified (`synthgen indexes apply` sets the
-- search_path to the target schema).

-- idx: Message (conversationId, createdAt DESC)
-- rationale: Q1 and Q2 read one conversation's newest messages; the migration's index on
--   ("conversationId") alone makes PostgreSQL fetch the whole conversation and sort it.
-- expected plan change: Index Scan with the LIMIT on top, no Sort.
CREATE INDEX CONCURRENTLY IF NOT EXISTS "Message_conversationId_createdAt_idx"
    ON "Message" ("conversationId", "createdAt" DESC);

-- idx: ConversationMember (userId) active, covering
-- rationale: Q3 starts from one user's active memberships.
-- expected plan change: Index Only Scan instead of the plain userId index plus heap fetches.
CREATE INDEX CONCURRENTLY IF NOT EXISTS "ConversationMember_userId_active_idx"
    ON "ConversationMember" ("userId") INCLUDE ("conversationId", "lastReadAt")
    WHERE "isActive";

-- idx: MessageRead (userId, messageId)
-- rationale: Q4's anti-join probes one user's reads per message; the unique key is
--   (messageId, userId), usable too, but a user-first index keeps the probe on one user's pages.
CREATE INDEX CONCURRENTLY IF NOT EXISTS "MessageRead_userId_messageId_idx"
    ON "MessageRead" ("userId", "messageId");

-- verify: every phase-2 index exists and is valid; its size
SELECT c.relname AS index_name, i.indisvalid AS valid, i.indisready AS ready,
       pg_size_pretty(pg_relation_size(c.oid)) AS size, pg_relation_size(c.oid) AS size_bytes
FROM pg_index i
JOIN pg_class c ON c.oid = i.indexrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = current_schema()
  AND c.relname IN ('Message_conversationId_createdAt_idx',
                    'ConversationMember_userId_active_idx',
                    'MessageRead_userId_messageId_idx')
ORDER BY c.relname;
