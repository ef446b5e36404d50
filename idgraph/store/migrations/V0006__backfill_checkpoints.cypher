// Backfill checkpoints: one per input file, written in the transaction of each batch.
CREATE CONSTRAINT backfill_checkpoint_name IF NOT EXISTS FOR (c:BackfillCheckpoint) REQUIRE c.name IS UNIQUE;
