-- Phase-2 indexes: what the hot-path queries (specs/queries/) need.
-- Each is built with CREATE INDEX CONCURRENTLY (outside a transaction: writes go on during the
-- build). Table names are unqualified: `synthgen indexes apply` sets search_path to the target
-- schema. After the builds, the verification queries below check that every index is valid and
-- report its size, and a bloat check compares each index's size with its table's.

-- idx_messages_conversation_created_desc
-- rationale: Q1, Q2 and Q5 read one conversation's newest messages. With only the phase-1
--   index on ("conversationId") PostgreSQL fetches every message of the room and sorts them
--   (a heavy room: tens of thousands of rows for 50).
-- expected plan change: Index Scan on this index with the LIMIT on top; the Sort node is gone
--   from Q1, Q2 and Q5, and Q1/Q2 on heavy rooms read a few buffers instead of the whole room.
CREATE INDEX CONCURRENTLY IF NOT EXISTS "idx_messages_conversation_created_desc"
    ON "messages" ("conversationId", "createdAt" DESC);

-- idx_conversation_users_user_active
-- rationale: Q3 and Q4 start from one user's active memberships. The primary key is
--   ("conversationId", "userId"), useless for a lookup by "userId" alone, so phase 1 scans the
--   whole table. A partial index on active rows, covering the columns the queries read.
-- expected plan change: Index Only Scan on this index (Heap Fetches near 0 after VACUUM) instead
--   of a Seq Scan on conversation_users; Q4 then uses idx_messages_conversation_created_desc for
--   the range "createdAt" > "lastReadAt".
CREATE INDEX CONCURRENTLY IF NOT EXISTS "idx_conversation_users_user_active"
    ON "conversation_users" ("userId") INCLUDE ("conversationId", "lastReadAt")
    WHERE "isActive";

-- idx_conversations_updated_desc
-- rationale: conversation lists order by "updatedAt" DESC; for users in many conversations the
--   planner can walk this index newest first and stop early instead of sorting.
-- expected plan change: Q3/Q5 may switch to a Nested Loop driven by this index for very active
--   users; otherwise no change (the planner keeps the cheaper plan).
CREATE INDEX CONCURRENTLY IF NOT EXISTS "idx_conversations_updated_desc"
    ON "conversations" ("updatedAt" DESC);

-- verify: every phase-2 index exists and is valid; its size
SELECT c.relname AS index_name, i.indisvalid AS valid, i.indisready AS ready,
       pg_size_pretty(pg_relation_size(c.oid)) AS size, pg_relation_size(c.oid) AS size_bytes
FROM pg_index i
JOIN pg_class c ON c.oid = i.indexrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = current_schema()
  AND c.relname IN ('idx_messages_conversation_created_desc',
                    'idx_conversation_users_user_active',
                    'idx_conversations_updated_desc')
ORDER BY c.relname;

-- bloat check: index size against its table's; a fresh index is small, a bloated one grows
SELECT c.relname AS index_name, t.relname AS table_name,
       pg_relation_size(c.oid) AS index_bytes, pg_relation_size(t.oid) AS table_bytes,
       round(pg_relation_size(c.oid)::numeric / greatest(pg_relation_size(t.oid), 1), 3)
           AS index_to_table_ratio
FROM pg_index i
JOIN pg_class c ON c.oid = i.indexrelid
JOIN pg_class t ON t.oid = i.indrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = current_schema()
  AND c.relname IN ('idx_messages_conversation_created_desc',
                    'idx_conversation_users_user_active',
                    'idx_conversations_updated_desc')
ORDER BY c.relname;
