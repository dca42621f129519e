-- Feedback: the answers Cato remembers so that users can rate them (kept
-- until expires_at), and the ratings, one per tenant, request and user,
-- each carrying the rated answer's side, model, route and cached flag so
-- that counting needs no join. rated_at orders the counts and the sweep.
CREATE TABLE cato_feedback_answers (
    tenant      text        NOT NULL,
    request_id  text        NOT NULL,
    side        text        NOT NULL,
    model       text        NOT NULL,
    route       text        NOT NULL,
    cached      boolean     NOT NULL,
    answered_at timestamptz NOT NULL,
    expires_at  timestamptz NOT NULL,
    PRIMARY KEY (tenant, request_id)
);

CREATE INDEX cato_feedback_answers_expires ON cato_feedback_answers (expires_at);

CREATE TABLE cato_feedback_ratings (
    tenant      text        NOT NULL,
    request_id  text        NOT NULL,
    user_id     text        NOT NULL,
    rating      smallint    NOT NULL,
    scale       text        NOT NULL,
    verdict     text        NOT NULL,
    comment     text        NOT NULL DEFAULT '',
    rated_at    timestamptz NOT NULL,
    side        text        NOT NULL,
    model       text        NOT NULL,
    route       text        NOT NULL,
    cached      boolean     NOT NULL,
    answered_at timestamptz NOT NULL,
    PRIMARY KEY (tenant, request_id, user_id)
);

CREATE INDEX cato_feedback_ratings_rated_at ON cato_feedback_ratings (rated_at);
