-- Every record is kept whole in `body`, in the engine-neutral record form. The columns beside it
-- are its key and what the queries look it up by: ids and enums, never a person's text (labels
-- are looked up by a hash; handles and project keys are identifiers people choose to be found by).
-- Text keys sort by byte ("C") as the record form's keys do.

CREATE TABLE tack_meta (
    key text COLLATE "C" PRIMARY KEY,
    value bigint NOT NULL
);

CREATE TABLE users (
    id bigint PRIMARY KEY,
    handle text COLLATE "C" NOT NULL,
    body bytea NOT NULL,
    CONSTRAINT users_handle UNIQUE (handle) DEFERRABLE INITIALLY DEFERRED
);

CREATE TABLE keys (
    fingerprint text COLLATE "C" PRIMARY KEY,
    owner bigint NOT NULL,
    body bytea NOT NULL
);
CREATE INDEX keys_owner ON keys (owner, fingerprint);

CREATE TABLE pending_keys (
    fingerprint text COLLATE "C" NOT NULL,
    owner bigint NOT NULL,
    body bytea NOT NULL,
    PRIMARY KEY (fingerprint, owner)
);

CREATE TABLE tokens (
    id text COLLATE "C" PRIMARY KEY,
    body bytea NOT NULL
);

CREATE TABLE invites (
    id text COLLATE "C" PRIMARY KEY,
    body bytea NOT NULL
);

CREATE TABLE totp (
    user_id bigint PRIMARY KEY,
    body bytea NOT NULL
);

CREATE TABLE user_settings (
    user_id bigint PRIMARY KEY,
    body bytea NOT NULL
);

CREATE TABLE projects (
    id bigint PRIMARY KEY,
    key text COLLATE "C" NOT NULL,
    body bytea NOT NULL,
    CONSTRAINT projects_key UNIQUE (key) DEFERRABLE INITIALLY DEFERRED
);

CREATE TABLE issues (
    id bigint PRIMARY KEY,
    project bigint NOT NULL,
    number bigint NOT NULL,
    state integer NOT NULL,
    rank text COLLATE "C" NOT NULL,
    assignees bigint[] NOT NULL,
    label_hashes bigint[] NOT NULL,
    body bytea NOT NULL,
    CONSTRAINT issues_number UNIQUE (project, number) DEFERRABLE INITIALLY DEFERRED
);
CREATE INDEX issues_board ON issues (project, state, rank, id);
CREATE INDEX issues_assignees ON issues USING gin (assignees);
CREATE INDEX issues_labels ON issues USING gin (label_hashes);

CREATE TABLE comments (
    id bigint PRIMARY KEY,
    issue bigint NOT NULL,
    body bytea NOT NULL
);
CREATE INDEX comments_issue ON comments (issue, id);

CREATE TABLE activity (
    seq bigint PRIMARY KEY,
    issue bigint,
    project bigint,
    body bytea NOT NULL
);
CREATE INDEX activity_issue ON activity (issue, seq) WHERE issue IS NOT NULL;
CREATE INDEX activity_project ON activity (project, seq) WHERE project IS NOT NULL;

CREATE TABLE notifications (
    user_id bigint NOT NULL,
    id bigint NOT NULL,
    body bytea NOT NULL,
    PRIMARY KEY (user_id, id)
);

CREATE TABLE watchers (
    issue bigint NOT NULL,
    user_id bigint NOT NULL,
    body bytea NOT NULL,
    PRIMARY KEY (issue, user_id)
);

-- `due_at` is the job's run_at while it is queued, NULL once it is not.
CREATE TABLE jobs (
    id bigint PRIMARY KEY,
    due_at bigint,
    body bytea NOT NULL
);
CREATE INDEX jobs_due ON jobs (due_at, id) WHERE due_at IS NOT NULL;

CREATE TABLE webhooks (
    project bigint NOT NULL,
    id bigint NOT NULL,
    body bytea NOT NULL,
    PRIMARY KEY (project, id),
    CONSTRAINT webhooks_id UNIQUE (id) DEFERRABLE INITIALLY DEFERRED
);

CREATE TABLE deliveries (
    hook bigint NOT NULL,
    id bigint NOT NULL,
    body bytea NOT NULL,
    PRIMARY KEY (hook, id)
);

CREATE TABLE dedupe (
    key text COLLATE "C" PRIMARY KEY,
    body bytea NOT NULL
);

CREATE TABLE views (
    id bigint PRIMARY KEY,
    body bytea NOT NULL
);

CREATE TABLE imports (
    project bigint NOT NULL,
    source text COLLATE "C" NOT NULL,
    body bytea NOT NULL,
    PRIMARY KEY (project, source)
);
