-- Retention and legal holds (DESIGN 7, 8): per-batch key index, holds registry, tombstones of
-- expired batches, and the one narrow path that removes hot rows.

-- legal_hold_applied: the S3 legal-hold flag last set on both objects of the batch. NULL means
-- "being changed": set before any PutObjectLegalHold, so a crash half-way leaves a marker that the
-- next reconcile finds (src/holds/reconcile.ts). hot_purged_*: the batch's hot rows were removed by
-- wormseal.purge_hot_rows; verify then checks it against the archive alone.
ALTER TABLE wormseal.batches
  ADD COLUMN legal_hold_applied boolean DEFAULT false,
  ADD COLUMN hot_purged_at timestamptz,
  ADD COLUMN hot_purged_rows bigint;

-- One row per sealed batch, written in the transaction that marks it sealed, so a hold finds every
-- batch that can contain a match after the hot rows are gone. Bloom filters (format in
-- src/holds/bloom.ts): false positives possible, misses never. NULL filter: no key of that kind.
CREATE TABLE wormseal.batch_index (
  namespace        text        NOT NULL,
  retention_class  text        NOT NULL,
  batch_no         bigint      NOT NULL,
  occurred_min     timestamptz NOT NULL,
  occurred_max     timestamptz NOT NULL,
  event_types      text[]      NOT NULL,
  actors           bytea,
  resources        bytea,
  subjects         bytea,
  PRIMARY KEY (namespace, retention_class, batch_no),
  -- Derived data only: it goes with its batch row (verify reports a batch row that disappears).
  FOREIGN KEY (namespace, retention_class, batch_no) REFERENCES wormseal.batches ON DELETE CASCADE
);

-- Legal holds, one row per placement. A matter has at most one active hold.
CREATE TABLE wormseal.holds (
  hold_id          bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  matter           text        NOT NULL,
  scope            jsonb       NOT NULL,
  reason           text        NOT NULL,
  placed_by        text        NOT NULL,
  placed_at        timestamptz NOT NULL,
  released_at      timestamptz,
  released_by      text,
  release_reason   text,
  CHECK ((released_at IS NULL) = (released_by IS NULL) AND (released_at IS NULL) = (release_reason IS NULL))
);
CREATE UNIQUE INDEX holds_one_active_per_matter ON wormseal.holds (matter) WHERE released_at IS NULL;

-- The batches a hold covers. confirmed: true when a hot row matched the scope, false when the hot
-- rows showed no match (a Bloom false positive, held anyway), NULL when the hot rows were purged.
CREATE TABLE wormseal.hold_batches (
  hold_id          bigint      NOT NULL REFERENCES wormseal.holds,
  namespace        text        NOT NULL,
  retention_class  text        NOT NULL,
  batch_no         bigint      NOT NULL,
  confirmed        boolean,
  PRIMARY KEY (hold_id, namespace, retention_class, batch_no),
  FOREIGN KEY (namespace, retention_class, batch_no) REFERENCES wormseal.batches
);
CREATE INDEX hold_batches_batch ON wormseal.hold_batches (namespace, retention_class, batch_no);

-- What stays of an expired batch: enough to keep the chain verifiable and to answer "what was
-- here". expired_at NULL: deletion started (the intent is written first, so a crash between the
-- two object deletions is finished by the next run rather than looking like a vanished batch).
CREATE TABLE wormseal.tombstones (
  namespace            text        NOT NULL,
  retention_class      text        NOT NULL,
  batch_no             bigint      NOT NULL,
  manifest_sha256      bytea       NOT NULL,
  root                 bytea       NOT NULL,
  leaf_count           integer     NOT NULL,
  occurred_min         timestamptz,
  occurred_max         timestamptz,
  sealed_at            timestamptz NOT NULL,
  retain_until         timestamptz NOT NULL,
  duration             text        NOT NULL,
  citation             text        NOT NULL,
  data_key             text        NOT NULL,
  data_version_id      text        NOT NULL,
  manifest_key         text        NOT NULL,
  manifest_version_id  text        NOT NULL,
  started_at           timestamptz NOT NULL,
  expired_at           timestamptz,
  PRIMARY KEY (namespace, retention_class, batch_no),
  FOREIGN KEY (namespace, retention_class, batch_no) REFERENCES wormseal.batches
);

-- The purge gate: a DELETE on events passes the append-only trigger only inside a transaction that
-- wormseal.purge_hot_rows (SECURITY DEFINER, owned by the schema owner) has entered here. Nobody is
-- granted anything on it, so no role but the owner can open the gate.
CREATE TABLE wormseal.purge_gate (txid xid8 PRIMARY KEY);
REVOKE ALL ON wormseal.purge_gate FROM PUBLIC;

CREATE OR REPLACE FUNCTION wormseal.refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'DELETE' AND TG_LEVEL = 'ROW'
     AND EXISTS (SELECT 1 FROM wormseal.purge_gate WHERE txid = pg_current_xact_id()) THEN
    RETURN OLD;
  END IF;
  RAISE EXCEPTION 'wormseal.events is append-only: % refused', TG_OP
    USING ERRCODE = 'insufficient_privilege',
          HINT = 'audit events cannot be changed or removed; record a correcting event instead';
END;
$$;

-- Remove the hot rows of sealed batches that were committed (objects locked and read back) longer
-- than p_hot_window ago by the database clock, and that no active hold covers. Whole batches only,
-- recorded in the registry, at most p_max_batches per call. The shared holds lock orders it against
-- hold placement: a hold committed first is seen here; one placed later finds the batch index.
CREATE FUNCTION wormseal.purge_hot_rows(p_hot_window interval, p_max_batches integer,
                                        OUT purged_batches integer, OUT purged_rows bigint)
  LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, wormseal AS $$
DECLARE
  b record;
  n bigint;
BEGIN
  IF p_hot_window < interval '0' THEN
    RAISE EXCEPTION 'purge_hot_rows: hot window must not be negative (got %)', p_hot_window;
  END IF;
  PERFORM pg_advisory_xact_lock_shared(hashtextextended('wormseal.holds', 0));
  INSERT INTO wormseal.purge_gate VALUES (pg_current_xact_id()) ON CONFLICT DO NOTHING;
  purged_batches := 0;
  purged_rows := 0;
  FOR b IN
    SELECT bt.namespace AS ns, bt.retention_class AS rc, bt.batch_no AS no,
           bt.first_txid, bt.first_seq, bt.last_txid, bt.last_seq
    FROM wormseal.batches bt
    WHERE bt.state = 'sealed' AND bt.hot_purged_at IS NULL AND bt.committed_at < now() - p_hot_window
      AND NOT EXISTS (SELECT 1 FROM wormseal.hold_batches hb JOIN wormseal.holds h USING (hold_id)
                      WHERE h.released_at IS NULL AND hb.namespace = bt.namespace
                        AND hb.retention_class = bt.retention_class AND hb.batch_no = bt.batch_no)
    ORDER BY bt.committed_at
    LIMIT p_max_batches
    FOR UPDATE OF bt SKIP LOCKED
  LOOP
    DELETE FROM wormseal.events e
    WHERE e.namespace = b.ns AND e.retention_class = b.rc
      AND (e.txid, e.seq) >= (b.first_txid, b.first_seq) AND (e.txid, e.seq) <= (b.last_txid, b.last_seq);
    GET DIAGNOSTICS n = ROW_COUNT;
    UPDATE wormseal.batches SET hot_purged_at = now(), hot_purged_rows = n
    WHERE namespace = b.ns AND retention_class = b.rc AND batch_no = b.no;
    purged_batches := purged_batches + 1;
    purged_rows := purged_rows + n;
  END LOOP;
  DELETE FROM wormseal.purge_gate WHERE txid = pg_current_xact_id();
END;
$$;
REVOKE ALL ON FUNCTION wormseal.purge_hot_rows(interval, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION wormseal.purge_hot_rows(interval, integer) TO wormseal_worker;

-- The worker keeps the index, holds and tombstones, and records its own audit events
-- (batch.expired, legal_hold.placed / released) in the events table like any writer.
GRANT SELECT, INSERT ON wormseal.batch_index TO wormseal_worker;
GRANT SELECT, INSERT, UPDATE ON wormseal.holds, wormseal.tombstones TO wormseal_worker;
GRANT SELECT, INSERT ON wormseal.hold_batches TO wormseal_worker;
GRANT DELETE ON wormseal.tombstones TO wormseal_worker;
GRANT INSERT ON wormseal.events TO wormseal_worker;
GRANT SELECT ON wormseal.batch_index, wormseal.holds, wormseal.hold_batches, wormseal.tombstones TO wormseal_examiner;
