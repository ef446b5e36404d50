// The OneID a record was first stored under: a split sends the redirects of merged-away
// OneIDs to the part their records went to.
CREATE INDEX record_origin IF NOT EXISTS FOR (r:Record) ON (r.origin);
