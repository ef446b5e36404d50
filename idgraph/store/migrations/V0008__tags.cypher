// Tags assigned through the API: (:Person|Vehicle)-[:TAGGED {source, actor, at}]->(:Tag {key}),
// key = 'person:' or 'vehicle:' + the three-level path. Tags from data are never stored.
CREATE CONSTRAINT tag_key IF NOT EXISTS FOR (t:Tag) REQUIRE t.key IS UNIQUE;
