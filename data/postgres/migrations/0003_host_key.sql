-- The SSH host key all nodes present: the first node to start keeps its key here.
CREATE TABLE tack_host_key (
    id integer PRIMARY KEY CHECK (id = 1),
    private_key text NOT NULL
);
