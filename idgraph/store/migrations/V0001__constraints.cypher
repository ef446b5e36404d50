// Every merged key is backed by a uniqueness constraint: MERGE alone does not
// guarantee uniqueness under concurrency.
CREATE CONSTRAINT person_one_id IF NOT EXISTS FOR (p:Person) REQUIRE p.one_id IS UNIQUE;
CREATE CONSTRAINT record_key IF NOT EXISTS FOR (r:Record) REQUIRE r.key IS UNIQUE;
CREATE CONSTRAINT identifier_key IF NOT EXISTS FOR (i:Identifier) REQUIRE i.key IS UNIQUE;
CREATE CONSTRAINT vehicle_vin IF NOT EXISTS FOR (v:Vehicle) REQUIRE v.vin IS UNIQUE;
CREATE CONSTRAINT merge_event_id IF NOT EXISTS FOR (e:MergeEvent) REQUIRE e.event_id IS UNIQUE;
CREATE CONSTRAINT review_task_id IF NOT EXISTS FOR (t:ReviewTask) REQUIRE t.task_id IS UNIQUE;
CREATE INDEX person_merged_into IF NOT EXISTS FOR (p:Person) ON (p.merged_into);
CREATE INDEX review_task_status IF NOT EXISTS FOR (t:ReviewTask) ON (t.status);
