-- A chat schema in the style of a Go / Java server's hand-written migrations (synthetic, made
-- for this example): every time a bigint of epoch milliseconds, ids varchar(26), a channel type
-- as one letter, no foreign keys at all, soft deletes (deleteat = 0 while a row is live), read
-- state as a cursor per member (lastviewedat, msgcount) instead of a row per read, a GIN
-- full-text index on the message text, and jsonb / tsvector / array columns the loader leaves
-- to their defaults. Run against an empty schema (search_path set to it).

CREATE TABLE users (
    id              varchar(26) PRIMARY KEY,
    username        varchar(64) NOT NULL,
    email           varchar(128) NOT NULL,
    createat        bigint NOT NULL,
    updateat        bigint NOT NULL,
    deleteat        bigint NOT NULL,
    lastactivityat  bigint,
    props           jsonb,
    notifyprops     jsonb NOT NULL DEFAULT '{}'::jsonb
);
CREATE UNIQUE INDEX idx_users_email ON users (email);

CREATE TABLE channels (
    id              varchar(26) PRIMARY KEY,
    type            varchar(1) NOT NULL,
    displayname     varchar(64),
    creatorid       varchar(26) NOT NULL,
    createat        bigint NOT NULL,
    updateat        bigint NOT NULL,
    deleteat        bigint NOT NULL,
    lastpostat      bigint NOT NULL DEFAULT 0,
    totalmsgcount   bigint NOT NULL DEFAULT 0
);
CREATE INDEX idx_channels_type ON channels (type) WHERE deleteat = 0;

CREATE TABLE channelmembers (
    channelid       varchar(26) NOT NULL,
    userid          varchar(26) NOT NULL,
    roles           varchar(64) NOT NULL,
    lastviewedat    bigint NOT NULL DEFAULT 0,
    msgcount        bigint NOT NULL DEFAULT 0,
    mentioncount    bigint NOT NULL DEFAULT 0,
    schemeadmin     boolean NOT NULL DEFAULT false,
    lastupdateat    bigint NOT NULL,
    PRIMARY KEY (channelid, userid)
);
CREATE INDEX idx_channelmembers_user ON channelmembers (userid);

CREATE TABLE posts (
    id          varchar(26) PRIMARY KEY,
    createat    bigint NOT NULL,
    updateat    bigint NOT NULL,
    editat      bigint NOT NULL DEFAULT 0,
    deleteat    bigint NOT NULL,
    userid      varchar(26) NOT NULL,
    channelid   varchar(26) NOT NULL,
    rootid      varchar(26),
    message     varchar(65535),
    type        varchar(26) NOT NULL,
    props       jsonb,
    hashtags    text[],
    search      tsvector
);
CREATE INDEX idx_posts_channel_update ON posts (channelid, updateat);
CREATE INDEX idx_posts_user ON posts (userid) WHERE deleteat = 0;
CREATE INDEX idx_posts_message_txt ON posts USING gin (to_tsvector('english', message));

CREATE TABLE fileinfo (
    id          varchar(26) PRIMARY KEY,
    creatorid   varchar(26) NOT NULL,
    postid      varchar(26),
    createat    bigint NOT NULL,
    updateat    bigint NOT NULL,
    deleteat    bigint NOT NULL,
    path        varchar(512) NOT NULL,
    name        varchar(256) NOT NULL,
    extension   varchar(64),
    size        bigint NOT NULL,
    mimetype    varchar(256)
);
CREATE INDEX idx_fileinfo_post ON fileinfo (postid) WHERE deleteat = 0;
