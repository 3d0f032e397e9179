-- The live SSH sessions of every node, so a person's session cap holds across the cluster. A
-- node renews its rows while it runs; the rows of a node that died lapse at `held_until`. Not
-- part of the record: a backup does not carry them.
CREATE TABLE tack_session_places (
    node text NOT NULL,
    session bigint NOT NULL,
    user_id bigint NOT NULL,
    held_until timestamptz NOT NULL,
    PRIMARY KEY (node, session)
);
CREATE INDEX tack_session_places_user ON tack_session_places (user_id);
