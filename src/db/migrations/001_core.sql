-- wormseal core schema: the append-only hot store, the stream/batch registry, and access roles.
CREATE SCHEMA IF NOT EXISTS wormseal;

-- Hot audit events. One row per event; `canonical` holds the RFC 8785 bytes that the batch file
-- carries and the Merkle leaf covers (never re-serialized from columns). The other columns exist
-- for examination queries and for cutting stream windows.
CREATE TABLE wormseal.events (
  event_id          uuid        PRIMARY KEY,
  -- txid orders rows by the transaction that wrote them; with the xmin horizon it tells the sealer
  -- which rows are final (DESIGN 4). seq breaks ties inside one transaction.
  txid              xid8        NOT NULL DEFAULT pg_current_xact_id(),
  seq               bigint      GENERATED ALWAYS AS IDENTITY,
  namespace         text        NOT NULL,
  retention_class   text        NOT NULL,
  event_type        text        NOT NULL,
  occurred_at       timestamptz NOT NULL,
  recorded_at       timestamptz NOT NULL,
  actor_id          text        NOT NULL,
  actor_type        text        NOT NULL,
  resource_type     text,
  resource_id       text,
  subject_id        text,
  outcome           text        NOT NULL,
  correlation_id    text,
  canonical         bytea       NOT NULL
);

-- The sealer's scan: next slice of a stream after its cursor, in (txid, seq) order.
CREATE INDEX events_stream_order ON wormseal.events (namespace, retention_class, txid, seq);
-- Examination queries (seed 001, step 6).
CREATE INDEX events_actor_time ON wormseal.events (actor_id, occurred_at);
CREATE INDEX events_resource ON wormseal.events (resource_type, resource_id, occurred_at);
CREATE INDEX events_type_time ON wormseal.events (event_type, occurred_at);
CREATE INDEX events_subject_time ON wormseal.events (subject_id, occurred_at) WHERE subject_id IS NOT NULL;
CREATE INDEX events_failures ON wormseal.events (occurred_at) WHERE outcome <> 'success';

-- Append-only: refuse every change, whoever asks. Purging sealed rows (retention) will go through
-- a dedicated, audited path; nothing else may remove or rewrite a row.
CREATE FUNCTION wormseal.refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'wormseal.events is append-only: % refused', TG_OP
    USING ERRCODE = 'insufficient_privilege',
          HINT = 'audit events cannot be changed or removed; record a correcting event instead';
END;
$$;

CREATE TRIGGER events_no_update_delete BEFORE UPDATE OR DELETE ON wormseal.events
  FOR EACH ROW EXECUTE FUNCTION wormseal.refuse_change();
CREATE TRIGGER events_no_truncate BEFORE TRUNCATE ON wormseal.events
  FOR EACH STATEMENT EXECUTE FUNCTION wormseal.refuse_change();

-- Streams: (namespace, retention class). The sealer registers them from the events (a loose
-- index scan), so writers touch nothing but the events table.
CREATE TABLE wormseal.streams (
  namespace        text        NOT NULL,
  retention_class  text        NOT NULL,
  created_at       timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (namespace, retention_class)
);

-- The batch registry. A row is written 'pending' with its window and keys before anything is
-- uploaded (DESIGN 5a), and turned 'sealed' with its digests and version ids once the objects are
-- locked (5e). The stream's cursor and chain head are its highest sealed batch.
CREATE TABLE wormseal.batches (
  namespace            text        NOT NULL,
  retention_class      text        NOT NULL,
  batch_no             bigint      NOT NULL CHECK (batch_no >= 1),
  state                text        NOT NULL CHECK (state IN ('pending', 'sealed')),
  first_txid           xid8        NOT NULL,
  first_seq            bigint      NOT NULL,
  last_txid            xid8        NOT NULL,
  last_seq             bigint      NOT NULL,
  leaf_count           integer     NOT NULL CHECK (leaf_count >= 1),
  sealed_at            timestamptz NOT NULL,
  retain_until         timestamptz NOT NULL,
  data_key             text        NOT NULL,
  manifest_key         text        NOT NULL,
  root                 bytea,
  data_sha256          bytea,
  data_bytes           bigint,
  manifest_sha256      bytea,
  prev_manifest_sha256 bytea,
  data_version_id      text,
  manifest_version_id  text,
  committed_at         timestamptz,
  PRIMARY KEY (namespace, retention_class, batch_no),
  FOREIGN KEY (namespace, retention_class) REFERENCES wormseal.streams,
  CHECK (state = 'pending' OR (root IS NOT NULL AND data_sha256 IS NOT NULL AND manifest_sha256 IS NOT NULL
                               AND data_version_id IS NOT NULL AND manifest_version_id IS NOT NULL))
);
-- At most one pending batch per stream: a crash resumes it rather than opening another.
CREATE UNIQUE INDEX batches_one_pending ON wormseal.batches (namespace, retention_class) WHERE state = 'pending';

-- Roles (DESIGN 8). Group roles without LOGIN: operators GRANT them to login roles.
DO $$
DECLARE r text;
BEGIN
  FOREACH r IN ARRAY ARRAY['wormseal_writer', 'wormseal_worker', 'wormseal_examiner'] LOOP
    BEGIN
      EXECUTE format('CREATE ROLE %I NOLOGIN', r);
    EXCEPTION WHEN duplicate_object OR unique_violation THEN
      NULL; -- roles are cluster-wide: another database (or a concurrent migrate) made it already
    END;
  END LOOP;
END;
$$;

GRANT USAGE ON SCHEMA wormseal TO wormseal_writer, wormseal_worker, wormseal_examiner;
-- Writers only add events (ON CONFLICT DO NOTHING needs only INSERT).
GRANT INSERT ON wormseal.events TO wormseal_writer;
-- RETURNING event_id tells the writer which ids were new; ids are all it may read.
GRANT SELECT (event_id) ON wormseal.events TO wormseal_writer;
-- A resubmitted event_id is compared with the stored event through this function, so writers
-- never read event content: they get the stored recorded_at (to rebuild their own bytes with it)
-- and the SHA-256 of the stored bytes, nothing else.
CREATE FUNCTION wormseal.stored_digests(ids uuid[])
  RETURNS TABLE (event_id uuid, recorded_at text, sha256 bytea)
  LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, wormseal AS $$
    SELECT e.event_id,
           to_char(e.recorded_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
           sha256(e.canonical)
    FROM wormseal.events e WHERE e.event_id = ANY (ids)
$$;
REVOKE ALL ON FUNCTION wormseal.stored_digests(uuid[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION wormseal.stored_digests(uuid[]) TO wormseal_writer;
-- The worker reads events, keeps the registry.
GRANT SELECT ON wormseal.events TO wormseal_worker;
GRANT SELECT, INSERT ON wormseal.streams TO wormseal_worker;
GRANT SELECT, INSERT, UPDATE ON wormseal.batches TO wormseal_worker;
-- Examiners read everything, change nothing.
GRANT SELECT ON ALL TABLES IN SCHEMA wormseal TO wormseal_examiner;
