-- Long-term memory (internal/memory): per tenant and user, a version that
-- orders changes (and records when the user was forgotten), facts as JSON
-- (superseded ones flagged: the request path reads only current ones),
-- episodes with their vectors as little-endian float32s in bytea (searched
-- in process where the server has no pgvector), the sessions forgotten,
-- and the consolidation queue, claimed with FOR UPDATE SKIP LOCKED.
CREATE TABLE cato_memory_users (
    tenant    text        NOT NULL,
    user_id   text        NOT NULL,
    version   bigint      NOT NULL DEFAULT 0,
    forgotten timestamptz,
    PRIMARY KEY (tenant, user_id)
);

CREATE TABLE cato_memory_facts (
    tenant     text    NOT NULL,
    user_id    text    NOT NULL,
    id         text    NOT NULL,
    superseded boolean NOT NULL DEFAULT false,
    fact       text    NOT NULL,
    PRIMARY KEY (tenant, user_id, id)
);

CREATE TABLE cato_memory_episodes (
    tenant     text        NOT NULL,
    user_id    text        NOT NULL,
    id         text        NOT NULL,
    session_id text        NOT NULL DEFAULT '',
    domain     text        NOT NULL DEFAULT '',
    query      text        NOT NULL,
    response   text        NOT NULL DEFAULT '',
    at         timestamptz NOT NULL,
    facts      text        NOT NULL DEFAULT '',
    vector     bytea,
    PRIMARY KEY (tenant, user_id, id)
);

CREATE INDEX cato_memory_episodes_session ON cato_memory_episodes (tenant, session_id) WHERE session_id <> '';

CREATE TABLE cato_memory_forgotten_sessions (
    tenant     text        NOT NULL,
    session_id text        NOT NULL,
    at         timestamptz NOT NULL,
    PRIMARY KEY (tenant, session_id)
);

CREATE TABLE cato_memory_queue (
    id          bigserial   PRIMARY KEY,
    item        text        NOT NULL,
    enqueued_at timestamptz NOT NULL,
    visible_at  timestamptz NOT NULL,
    attempts    integer     NOT NULL DEFAULT 0
);

CREATE INDEX cato_memory_queue_visible ON cato_memory_queue (visible_at, id);
