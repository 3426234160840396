-- A "production" chat database for the sampler's end-to-end privacy test, built entirely by the
-- server (generate_series, random() after setseed): no per-row Python. It is full of
-- personal-looking strings (names from a short list of common names, emails on ordinary-looking
-- but made-up domains, phone numbers in fictional ranges, well-known test card numbers) so the
-- test can prove that none of them leaves the database. Its shape is deliberately unlike the
-- default spec: 40% media, an evening-only peak, 75% group conversations.
-- Placeholders (a dollar sign and a name) are filled by tests/integration/sample/conftest.py.
SET LOCAL max_parallel_workers_per_gather = 0;
SET LOCAL TimeZone = 'UTC';
SET LOCAL work_mem = '256MB';
SET LOCAL jit = off;
SET temp_buffers = '512MB';
SELECT setseed($seed);
CREATE SCHEMA $schema;
CREATE TABLE $schema.accounts (
  id bigint NOT NULL, email_address text NOT NULL, full_name text NOT NULL, phone text,
  created_at timestamptz NOT NULL, last_seen_at timestamptz);
CREATE TABLE $schema.chats (
  id bigint NOT NULL, kind text NOT NULL, title text, created_at timestamptz NOT NULL);
CREATE TABLE $schema.chat_members (
  chat_id bigint NOT NULL, account_id bigint NOT NULL, member_role text NOT NULL,
  joined_at timestamptz NOT NULL, active boolean NOT NULL);
CREATE TABLE $schema.posts (
  id bigint NOT NULL, chat_id bigint NOT NULL, author_id bigint NOT NULL,
  post_type text NOT NULL, body text, created_at timestamptz NOT NULL);
CREATE TABLE $schema.post_files (
  id bigint NOT NULL, post_id bigint NOT NULL, file_kind text NOT NULL,
  content_type text NOT NULL, byte_size bigint NOT NULL, object_key text NOT NULL,
  created_at timestamptz NOT NULL);
CREATE TABLE $schema.post_reads (
  post_id bigint NOT NULL, reader_id bigint NOT NULL, read_at timestamptz NOT NULL);

INSERT INTO $schema.accounts
SELECT i, lower(f) || '.' || lower(l) || i::text || '@' || d, f || ' ' || l, p,
       CASE WHEN random() < $new_user_share
            THEN $t0 - interval '30 days' + random() * interval '24 days'
            ELSE $t0 - interval '30 days' - (1 + random() * 365) * interval '1 day' END,
       $t0 - random() * interval '2 days'
FROM (
  SELECT i,
         (ARRAY[$first_names])[1 + floor(random() * $n_first)::int] AS f,
         (ARRAY[$last_names])[1 + floor(random() * $n_last)::int] AS l,
         (ARRAY[$domains])[1 + floor(random() * $n_domains)::int] AS d,
         CASE floor(random() * 3)::int
           WHEN 0 THEN '+1 ' || (201 + floor(random() * 700))::int::text || ' 555 01'
                       || lpad(floor(random() * 100)::int::text, 2, '0')
           WHEN 1 THEN '(' || (201 + floor(random() * 700))::int::text || ') 555-01'
                       || lpad(floor(random() * 100)::int::text, 2, '0')
           ELSE '+44 20 7946 0' || lpad(floor(random() * 1000)::int::text, 3, '0') END AS p
  FROM generate_series(1, $users) AS i
) AS s;

CREATE TEMP TABLE plan_chats AS
SELECT id,
       CASE WHEN id <= $n_direct THEN 'direct'
            WHEN id <= $n_direct + $n_small THEN 'small'
            WHEN id <= $n_active THEN 'large' ELSE 'archived' END AS class,
       id > $n_active - $n_heavy AND id <= $n_active AS heavy,
       0 AS n_members, 0 AS n_messages, $t0 AS created_at
FROM generate_series(1, $n_active + $n_archived) AS id;

UPDATE plan_chats SET
  n_members = CASE class
    WHEN 'direct' THEN 2
    WHEN 'large' THEN least(256, floor((20.5 ^ (1 - $large_alpha) + random()
         * (256.5 ^ (1 - $large_alpha) - 20.5 ^ (1 - $large_alpha))) ^ (1 / (1 - $large_alpha))
         + 0.5))::int
    ELSE 3 + floor(ln(1 - random() * (1 - (1 - $small_p) ^ 18)) / ln(1 - $small_p))::int END,
  n_messages = CASE WHEN class = 'archived' THEN 5
    ELSE floor((0.5 ^ (1 - $regular_alpha) + random()
         * (($heavy_min - 0.5) ^ (1 - $regular_alpha) - 0.5 ^ (1 - $regular_alpha)))
         ^ (1 / (1 - $regular_alpha)) + 0.5)::int END,
  created_at = CASE WHEN heavy THEN $t0 - interval '30 days' + random() * interval '3 days'
    WHEN class = 'archived' THEN $t0 - interval '60 days' + random() * interval '10 days'
    ELSE $t0 - interval '30 days' + random() ^ 1.3 * interval '27 days' END;

-- heavy rooms absorb what the regular rooms leave of the target total, by Pareto weights
WITH weights AS MATERIALIZED (
  SELECT id, (1 - random()) ^ (-1 / ($heavy_alpha - 1)) AS w FROM plan_chats WHERE heavy),
extra AS (
  SELECT greatest(0, $target_messages - $n_heavy * $heavy_min - (
    SELECT sum(n_messages) FROM plan_chats WHERE NOT heavy AND class <> 'archived')) AS n)
UPDATE plan_chats AS p
SET n_messages = $heavy_min + floor(extra.n * weights.w / (SELECT sum(w) FROM weights))::int
FROM weights, extra WHERE p.id = weights.id;

CREATE TEMP TABLE plan_members AS
SELECT c.id AS chat_id, u.id AS account_id, u.rn, c.n_members
FROM plan_chats AS c
CROSS JOIN LATERAL (
  SELECT a.id, row_number() OVER () AS rn
  FROM (SELECT id FROM $schema.accounts ORDER BY random() + 0 * c.id LIMIT c.n_members) AS a
) AS u;

INSERT INTO $schema.chats
SELECT id, CASE class WHEN 'direct' THEN 'dm' ELSE 'group' END,
       CASE WHEN class = 'direct' THEN NULL
            ELSE (ARRAY[$first_names])[1 + floor(random() * $n_first)::int] || '''s '
                 || (ARRAY['birthday', 'book club', 'road trip', 'family', 'flat share'])
                    [1 + floor(random() * 5)::int] END,
       created_at
FROM plan_chats;

INSERT INTO $schema.chat_members
SELECT m.chat_id, m.account_id,
       CASE WHEN c.class = 'direct' THEN 'member' WHEN m.rn = 1 THEN 'owner'
            WHEN random() < $admin_share THEN 'admin' ELSE 'member' END,
       c.created_at + CASE WHEN m.rn <= 2 THEN (m.rn - 1) * interval '5 minutes'
                           ELSE random() * interval '2 days' END,
       m.rn = 1 OR random() >= $inactive_share
FROM plan_members AS m JOIN plan_chats AS c ON c.id = m.chat_id;

-- messages: bursts open with probability q; a burst starts on a day (weekend days thinned by one
-- redraw) at an hour drawn from the evening-only profile; gaps inside a burst are exponential
CREATE TEMP TABLE plan_posts AS
WITH slots AS (
  SELECT c.id AS chat_id, c.n_members, c.n_messages, s,
         extract(epoch FROM c.created_at) + 60 AS lo,
         extract(epoch FROM CASE WHEN c.class = 'archived' THEN $t0 - interval '40 days'
                                 ELSE $t0 END) AS hi,
         (s = 1 OR random() < $burst_q) AS opens
  FROM plan_chats AS c, generate_series(1, c.n_messages) AS s
), drawn AS (
  SELECT *,
         floor(lo / 86400) + floor(random() * greatest(1, floor(hi / 86400) - floor(lo / 86400)))
           AS day1,
         floor(lo / 86400) + floor(random() * greatest(1, floor(hi / 86400) - floor(lo / 86400)))
           AS day2,
         random() AS weekend_draw,
         3600 * (width_bucket(random(), ARRAY[$hour_cdf]::float8[]) + random()) AS at_hour,
         CASE WHEN opens THEN 0
              ELSE -ln(1 - random()) * least($in_burst_gap, (hi - lo) / n_messages / 10) END AS gap
  FROM slots
), walked AS MATERIALIZED (
  -- one pass in (chat, s) order: the cumulative gap, and which row opened the current burst.
  -- epoch day d is a weekend day when (d + 3) % 7 >= 5 (1970-01-01 was a Thursday)
  SELECT chat_id, n_members, s, hi,
         greatest(lo, 86400 * CASE WHEN (day1::bigint + 3) % 7 >= 5 AND weekend_draw > $weekend_keep
                                   THEN day2 ELSE day1 END + at_hour) AS candidate,
         sum(gap) OVER w AS walked_gap,
         max(CASE WHEN opens THEN s END) OVER w AS opened_by
  FROM drawn
  WINDOW w AS (PARTITION BY chat_id ORDER BY s)
)
SELECT row_number() OVER () AS id, m.chat_id, m.n_members,
       to_timestamp(least(m.hi - 1, o.candidate + m.walked_gap - o.walked_gap)) AS created_at,
       width_bucket(random(), ARRAY[$type_cdf]::float8[]) AS type_code,
       1 + floor(random() * m.n_members)::int AS sender_rn,
       1 + floor(random() * $users)::int AS ref_user,
       floor(random() * 6)::int AS template,
       1 + floor(random() * $n_cards)::int AS card,
       least(2000, greatest(1, round(exp($len_mu + $len_sigma
         * sqrt(-2 * ln(1 - random())) * cos(2 * pi() * random())))))::int AS text_len,
       random() < $caption_share AS has_caption,
       least(2000, greatest(1, round(exp($caption_mu + $caption_sigma
         * sqrt(-2 * ln(1 - random())) * cos(2 * pi() * random())))))::int AS caption_len
FROM walked AS m JOIN walked AS o ON o.chat_id = m.chat_id AND o.s = m.opened_by;

INSERT INTO $schema.posts
SELECT p.id, p.chat_id, m.account_id,
       (ARRAY['text', 'image', 'video', 'file', 'voice'])[p.type_code + 1],
       CASE WHEN p.type_code = 0 THEN left(
              CASE p.template
                WHEN 0 THEN 'Hi ' || split_part(a.full_name, ' ', 1) || ', call me at '
                            || a.phone || ' tonight. '
                WHEN 1 THEN 'My email is ' || a.email_address || ' if you need it. '
                WHEN 2 THEN a.full_name || ' paid with card ' || (ARRAY[$cards])[p.card]
                            || ' yesterday. '
                WHEN 3 THEN 'Ask ' || split_part(a.full_name, ' ', 1) || ' ('
                            || a.email_address || ') about the lease. '
                WHEN 4 THEN 'Text ' || a.full_name || ' at ' || a.phone || '. '
                ELSE 'Sounds good, see you at six. ' END
              || repeat((ARRAY[$fillers])[1 + p.id % $n_fillers], 1 + p.text_len / 12),
              p.text_len)
            WHEN p.has_caption THEN left(split_part(a.full_name, ' ', 1) || ' at the lake, '
              || repeat('what a day! ', 1 + p.caption_len / 12), p.caption_len)
       END,
       p.created_at
FROM plan_posts AS p
JOIN plan_members AS m ON m.chat_id = p.chat_id AND m.rn = p.sender_rn
JOIN $schema.accounts AS a ON a.id = p.ref_user;

-- three posts of a type the contract does not know: the sampler must suppress that category
UPDATE $schema.posts SET post_type = 'poll'
WHERE id IN (SELECT id FROM $schema.posts WHERE post_type = 'text' ORDER BY id LIMIT 3);

INSERT INTO $schema.post_files
SELECT row_number() OVER (ORDER BY p.id), p.id,
       (ARRAY['text', 'image', 'video', 'file', 'voice'])[p.type_code + 1],
       CASE p.type_code
         WHEN 1 THEN (ARRAY['image/jpeg', 'image/heic', 'image/png', 'image/x-acme-sticker'])
                     [1 + width_bucket(random(), ARRAY[0.6, 0.9, 0.98]::float8[])]
         WHEN 2 THEN (ARRAY['video/mp4', 'video/quicktime'])
                     [1 + width_bucket(random(), ARRAY[0.8]::float8[])]
         WHEN 3 THEN (ARRAY['application/pdf', 'application/vnd.openxmlformats-officedocument.'
                            || 'wordprocessingml.document', 'application/vnd.acme-internal'])
                     [1 + width_bucket(random(), ARRAY[0.7, 0.9]::float8[])]
         ELSE (ARRAY['audio/ogg', 'audio/mpeg'])[1 + width_bucket(random(), ARRAY[0.5]::float8[])]
       END,
       greatest(1, round(exp((ARRAY[$size_mu])[p.type_code] + (ARRAY[$size_sigma])[p.type_code]
         * sqrt(-2 * ln(1 - random())) * cos(2 * pi() * random()))))::bigint,
       'uploads/' || a.email_address || '/' || p.id::text || '.bin',
       p.created_at
FROM plan_posts AS p JOIN $schema.accounts AS a ON a.id = p.ref_user
WHERE p.type_code > 0;

-- read receipts: one reader other than the author; the delay from a four-band mixture
INSERT INTO $schema.post_reads
SELECT d.id, m.account_id, d.created_at + d.delay * interval '1 second'
FROM (
  SELECT id, chat_id, created_at,
         CASE width_bucket(random(), ARRAY[$delay_cdf]::float8[])
           WHEN 0 THEN 0.5 + random() * 29.5
           WHEN 1 THEN 30 - $near_scale * ln(1 - random() * (1 - exp(-3570.0 / $near_scale)))
           WHEN 2 THEN least(259199, greatest(3600, exp($delayed_mu + $delayed_sigma
                         * sqrt(-2 * ln(1 - random())) * cos(2 * pi() * random()))))
           ELSE exp(ln(259200) + random() * (ln(2592000) - ln(259200))) END AS delay,
         1 + (sender_rn + floor(random() * (n_members - 1))::int) % n_members AS reader_rn
  FROM plan_posts WHERE n_members >= 2 AND random() < $read_rate
) AS d
JOIN plan_members AS m ON m.chat_id = d.chat_id AND m.rn = d.reader_rn
WHERE d.created_at + d.delay * interval '1 second' < $t0;

-- authors "reading" their own posts: the sampler must ignore these
INSERT INTO $schema.post_reads
SELECT p.id, m.account_id, p.created_at
FROM plan_posts AS p JOIN plan_members AS m ON m.chat_id = p.chat_id AND m.rn = p.sender_rn
WHERE random() < $self_read_share;

ALTER TABLE $schema.accounts ADD PRIMARY KEY (id);
ALTER TABLE $schema.chats ADD PRIMARY KEY (id);
ALTER TABLE $schema.chat_members ADD PRIMARY KEY (chat_id, account_id);
ALTER TABLE $schema.posts ADD PRIMARY KEY (id);
ALTER TABLE $schema.post_files ADD PRIMARY KEY (id);
ANALYZE $schema.accounts;
ANALYZE $schema.chats;
ANALYZE $schema.chat_members;
ANALYZE $schema.posts;
ANALYZE $schema.post_files;
ANALYZE $schema.post_reads;
