-- Rollout flag shared by replicas: a one-row counter that orders versions
-- (its row lock serialises Sets), and the history, whose newest row is the
-- current flag.
CREATE TABLE cato_rollout_version (
    id      boolean PRIMARY KEY DEFAULT true CHECK (id),
    version bigint  NOT NULL
);

INSERT INTO cato_rollout_version (id, version) VALUES (true, 0);

CREATE TABLE cato_rollout_flags (
    version    bigint           PRIMARY KEY,
    percentage double precision NOT NULL,
    source     text             NOT NULL,
    actor      text             NOT NULL DEFAULT '',
    reason     text             NOT NULL DEFAULT '',
    at         timestamptz      NOT NULL,
    ref        text             NOT NULL DEFAULT ''
);
