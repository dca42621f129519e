-- Working memory: one row per session, one per turn not yet folded.
CREATE TABLE cato_sessions (
    tenant          text        NOT NULL,
    id              text        NOT NULL,
    summary         text        NOT NULL DEFAULT '',
    summary_through bigint      NOT NULL DEFAULT 0,
    last_seq        bigint      NOT NULL DEFAULT 0,
    updated_at      timestamptz NOT NULL,
    expires_at      timestamptz NOT NULL,
    PRIMARY KEY (tenant, id)
);

CREATE INDEX cato_sessions_expires_at ON cato_sessions (expires_at);

CREATE TABLE cato_session_turns (
    tenant     text        NOT NULL,
    session_id text        NOT NULL,
    seq        bigint      NOT NULL,
    role       text        NOT NULL,
    content    text        NOT NULL,
    model      text        NOT NULL DEFAULT '',
    tokens     integer     NOT NULL DEFAULT 0,
    at         timestamptz NOT NULL,
    PRIMARY KEY (tenant, session_id, seq),
    FOREIGN KEY (tenant, session_id) REFERENCES cato_sessions (tenant, id) ON DELETE CASCADE
);
