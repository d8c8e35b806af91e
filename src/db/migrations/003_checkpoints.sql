-- Signed checkpoints written after sealing runs. The objects in the bucket are the record; this
-- table is an index of them, so that `prove` finds the newest checkpoint with one query instead of
-- listing a prefix that grows with every run.
CREATE TABLE wormseal.checkpoints (
  object_key   text        PRIMARY KEY,
  version_id   text        NOT NULL,
  signed_at    timestamptz NOT NULL,
  key_name     text        NOT NULL,
  key_id       text        NOT NULL,
  note         text        NOT NULL,
  created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX checkpoints_newest ON wormseal.checkpoints (signed_at DESC);

GRANT SELECT, INSERT ON wormseal.checkpoints TO wormseal_worker;
GRANT SELECT ON wormseal.checkpoints TO wormseal_examiner;
