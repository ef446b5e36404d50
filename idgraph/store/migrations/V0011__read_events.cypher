// Who read whose data (idgraph/audit.py): GetHistory(include_reads) finds them by OneID.
CREATE INDEX read_event_one_id IF NOT EXISTS FOR (e:ReadEvent) ON (e.one_id);
