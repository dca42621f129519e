-- Semantic cache entries (internal/cache), shared by replicas. Vectors are
-- little-endian float32s in bytea: the cache searches them in process, so
-- this needs no pgvector. (0003: 0002 is taken by the rollout flag store.)
CREATE TABLE cato_cache_entries (
    id                text        PRIMARY KEY,
    tenant            text        NOT NULL,
    model             text        NOT NULL,
    system            text        NOT NULL DEFAULT '',
    domain            text        NOT NULL DEFAULT '',
    query             text        NOT NULL,
    answer            text        NOT NULL,
    answer_model      text        NOT NULL DEFAULT '',
    prompt_tokens     integer     NOT NULL DEFAULT 0,
    completion_tokens integer     NOT NULL DEFAULT 0,
    created_at        timestamptz,
    expires_at        timestamptz,
    session_id        text        NOT NULL DEFAULT '',
    vector            bytea
);

CREATE INDEX cato_cache_entries_session ON cato_cache_entries (session_id) WHERE session_id <> '';
CREATE INDEX cato_cache_entries_tenant ON cato_cache_entries (tenant);
CREATE INDEX cato_cache_entries_model ON cato_cache_entries (model);
CREATE INDEX cato_cache_entries_answer_model ON cato_cache_entries (answer_model);
CREATE INDEX cato_cache_entries_expires_at ON cato_cache_entries (expires_at);

-- The LISTEN/NOTIFY channel of the change feed. Channels are per database,
-- so it is named after the schema: deployments in two schemas of one
-- database do not hear each other.
CREATE FUNCTION cato_cache_channel() RETURNS text LANGUAGE sql STABLE
AS $$ SELECT 'cato_cache_' || left(md5(current_schema()), 16) $$;
