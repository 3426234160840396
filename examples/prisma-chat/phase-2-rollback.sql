-- Roll back the prisma-chat example's phase-2 indexes.
DROP INDEX CONCURRENTLY IF EXISTS "Message_conversationId_createdAt_idx";
DROP INDEX CONCURRENTLY IF EXISTS "ConversationMember_userId_active_idx";
DROP INDEX CONCURRENTLY IF EXISTS "MessageRead_userId_messageId_idx";
