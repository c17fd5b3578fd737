-- The PostgreSQL role buurtkas runs as: it may append to the log and read it, never
-- change or delete it, and it owns only its read models.
--
-- Run as the owner of the schema, after the owner has created the tables once (any
-- buurtkas command run as the owner does, e.g. `buurtkas projections`):
--
--   psql -v schema=public -v role=buurtkas_service -f scripts/postgres_roles.sql
--
-- then set the role's password, and run the service as that role with
-- BUURTKAS_CREATE_TABLES=no.

CREATE ROLE :"role" LOGIN;

GRANT USAGE ON SCHEMA :"schema" TO :"role";
-- Read models: the service creates, fills and drops its own rm_* tables.
GRANT CREATE ON SCHEMA :"schema" TO :"role";

-- The log. UPDATE is granted only because PostgreSQL requires it (or DELETE or TRUNCATE)
-- for LOCK TABLE ... IN EXCLUSIVE MODE, with which the event store orders appends; the
-- append-only trigger refuses every UPDATE, and only the owner can disable a trigger.
GRANT SELECT, INSERT, UPDATE ON :"schema".buurtkas_events TO :"role";
GRANT USAGE ON SEQUENCE :"schema".buurtkas_events_notification_id_seq TO :"role";
GRANT SELECT, INSERT ON :"schema".audit_leaves, :"schema".audit_nodes,
    :"schema".audit_checkpoints TO :"role";
