-- Client keys created through the admin API (stored by the SHA-256 of the
-- secret, never the secret), the request and token counts of each key's
-- minutes, and its spend per budget period in billionths of a dollar.
CREATE TABLE cato_keys (
    id      text        PRIMARY KEY,
    hash    text        NOT NULL UNIQUE,
    tenant  text        NOT NULL,
    limits  jsonb       NOT NULL,
    created timestamptz NOT NULL,
    revoked timestamptz
);

CREATE TABLE cato_key_windows (
    key_id    text   NOT NULL,
    window_id text   NOT NULL,
    requests  bigint NOT NULL,
    tokens    bigint NOT NULL,
    PRIMARY KEY (key_id, window_id)
);

CREATE TABLE cato_key_spend (
    key_id   text   NOT NULL,
    period   text   NOT NULL,
    nano_usd bigint NOT NULL,
    PRIMARY KEY (key_id, period)
);
