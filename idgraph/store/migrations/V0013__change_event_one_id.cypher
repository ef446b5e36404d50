// GetHistory finds a person's CREATED and ERASED changes by OneID (a scan of every change
// before: 570 ms at 200,000 people, bench/soak.py).
CREATE INDEX change_event_one_id IF NOT EXISTS FOR (c:ChangeEvent) ON (c.one_id);
