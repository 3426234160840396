CREATE SCHEMA IF NOT EXISTS "perf_synthetic";

CREATE TABLE "perf_synthetic"."users" (
  "id" bigint NOT NULL,
  "email" text NOT NULL,
  "displayName" text NOT NULL,
  "createdAt" timestamptz NOT NULL,
  "lastSeenAt" timestamptz NOT NULL
);

CREATE TABLE "perf_synthetic"."conversations" (
  "id" bigint NOT NULL,
  "type" text NOT NULL,
  "title" text,
  "createdAt" timestamptz NOT NULL,
  "updatedAt" timestamptz NOT NULL
);

CREATE TABLE "perf_synthetic"."conversation_users" (
  "conversationId" bigint NOT NULL,
  "userId" bigint NOT NULL,
  "role" text NOT NULL,
  "joinedAt" timestamptz NOT NULL,
  "lastReadAt" timestamptz,
  "isActive" boolean NOT NULL
);

CREATE TABLE "perf_synthetic"."messages" (
  "id" bigint NOT NULL,
  "conversationId" bigint NOT NULL,
  "senderId" bigint NOT NULL,
  "type" text NOT NULL,
  "content" text,
  "createdAt" timestamptz NOT NULL
);

CREATE TABLE "perf_synthetic"."attachments" (
  "id" bigint NOT NULL,
  "messageId" bigint NOT NULL,
  "kind" text NOT NULL,
  "mimeType" text NOT NULL,
  "sizeBytes" bigint NOT NULL,
  "storageKey" text NOT NULL,
  "createdAt" timestamptz NOT NULL
);

CREATE TABLE "perf_synthetic"."read_receipts" (
  "messageId" bigint NOT NULL,
  "userId" bigint NOT NULL,
  "readAt" timestamptz NOT NULL
);

CREATE TABLE "perf_synthetic"."conversation_traits" (
  "conversationId" bigint NOT NULL,
  "isHeavy" boolean NOT NULL,
  "sizeClass" text NOT NULL
);

ALTER TABLE "perf_synthetic"."users" ADD CONSTRAINT "users_pkey" PRIMARY KEY ("id");

ALTER TABLE "perf_synthetic"."conversations" ADD CONSTRAINT "conversations_pkey" PRIMARY KEY ("id");

ALTER TABLE "perf_synthetic"."conversation_users" ADD CONSTRAINT "conversation_users_pkey" PRIMARY KEY ("conversationId", "userId");

ALTER TABLE "perf_synthetic"."messages" ADD CONSTRAINT "messages_pkey" PRIMARY KEY ("id");

ALTER TABLE "perf_synthetic"."attachments" ADD CONSTRAINT "attachments_pkey" PRIMARY KEY ("id");

ALTER TABLE "perf_synthetic"."read_receipts" ADD CONSTRAINT "read_receipts_pkey" PRIMARY KEY ("messageId", "userId");

ALTER TABLE "perf_synthetic"."conversation_traits" ADD CONSTRAINT "conversation_traits_pkey" PRIMARY KEY ("conversationId");

CREATE INDEX "messages_conversationId_idx" ON "perf_synthetic"."messages" ("conversationId");

CREATE UNIQUE INDEX "users_email_key" ON "perf_synthetic"."users" ("email");

ALTER TABLE "perf_synthetic"."conversation_users" ADD CONSTRAINT "conversation_users_conversationId_fkey" FOREIGN KEY ("conversationId") REFERENCES "perf_synthetic"."conversations" ("id");

ALTER TABLE "perf_synthetic"."conversation_users" ADD CONSTRAINT "conversation_users_userId_fkey" FOREIGN KEY ("userId") REFERENCES "perf_synthetic"."users" ("id");

ALTER TABLE "perf_synthetic"."messages" ADD CONSTRAINT "messages_conversationId_fkey" FOREIGN KEY ("conversationId") REFERENCES "perf_synthetic"."conversations" ("id");

ALTER TABLE "perf_synthetic"."messages" ADD CONSTRAINT "messages_senderId_fkey" FOREIGN KEY ("senderId") REFERENCES "perf_synthetic"."users" ("id");

ALTER TABLE "perf_synthetic"."attachments" ADD CONSTRAINT "attachments_messageId_fkey" FOREIGN KEY ("messageId") REFERENCES "perf_synthetic"."messages" ("id");

ALTER TABLE "perf_synthetic"."read_receipts" ADD CONSTRAINT "read_receipts_messageId_fkey" FOREIGN KEY ("messageId") REFERENCES "perf_synthetic"."messages" ("id");

ALTER TABLE "perf_synthetic"."read_receipts" ADD CONSTRAINT "read_receipts_userId_fkey" FOREIGN KEY ("userId") REFERENCES "perf_synthetic"."users" ("id");

ALTER TABLE "perf_synthetic"."conversation_traits" ADD CONSTRAINT "conversation_traits_conversationId_fkey" FOREIGN KEY ("conversationId") REFERENCES "perf_synthetic"."conversations" ("id");
