-- A job a node has taken, until when and by whom: several nodes work one queue, and a node that
-- dies mid-job gives its jobs up when their leases end. Not part of the record: a backup does
-- not carry leases, and writing a job (its outcome, a retry) ends its lease.
ALTER TABLE jobs ADD COLUMN lease_until bigint;
ALTER TABLE jobs ADD COLUMN lease_node text;
