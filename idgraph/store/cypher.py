"""Every Cypher statement idgraph runs, as constant text with parameters.

Labels and relationship types are fixed here; request data only ever arrives as
parameters.
"""

from __future__ import annotations

from typing import LiteralString

# --- schema migrations -------------------------------------------------------------------

MIGRATION_CONSTRAINT: LiteralString = (
    "CREATE CONSTRAINT migration_version IF NOT EXISTS "
    "FOR (m:SchemaMigration) REQUIRE m.version IS UNIQUE"
)
APPLIED_MIGRATIONS: LiteralString = "MATCH (m:SchemaMigration) RETURN m.version AS version"
RECORD_MIGRATION: LiteralString = (
    "MERGE (m:SchemaMigration {version: $version}) "
    "ON CREATE SET m.name = $name, m.applied_at = datetime()"
)

AWAIT_INDEXES: LiteralString = "CALL db.awaitIndexes(300)"

# --- ingest ------------------------------------------------------------------------------

# Every write transaction starts here: it takes the write lock of the graph (writers take
# turns) and answers the new epoch, so a writer can tell whether anyone wrote since its last
# commit.
CLAIM_EPOCH: LiteralString = """
MERGE (e:WriteEpoch {name: 'graph'})
SET e.value = coalesce(e.value, 0) + 1
RETURN e.value AS epoch
"""

# The distinct people (at most $cap) holding `row.key`: through identifier nodes, or for a
# blocking key (row.block) through the indexed record properties block0..block7. Nothing when
# row.lookup is false.
_HOLDERS: LiteralString = """
CALL (row) {
  CALL (row) {
    MATCH (:Identifier {key: row.key})<-[:HAS_IDENTIFIER]-(r:Record)
    WHERE row.lookup AND NOT row.block RETURN r
    UNION
    MATCH (r:Record {block0: row.key}) WHERE row.lookup AND row.block RETURN r
    UNION
    MATCH (r:Record {block1: row.key}) WHERE row.lookup AND row.block RETURN r
    UNION
    MATCH (r:Record {block2: row.key}) WHERE row.lookup AND row.block RETURN r
    UNION
    MATCH (r:Record {block3: row.key}) WHERE row.lookup AND row.block RETURN r
    UNION
    MATCH (r:Record {block4: row.key}) WHERE row.lookup AND row.block RETURN r
    UNION
    MATCH (r:Record {block5: row.key}) WHERE row.lookup AND row.block RETURN r
    UNION
    MATCH (r:Record {block6: row.key}) WHERE row.lookup AND row.block RETURN r
    UNION
    MATCH (r:Record {block7: row.key}) WHERE row.lookup AND row.block RETURN r
  }
  MATCH (r)-[:PART_OF]->(p:Person)
  WITH DISTINCT p LIMIT $cap
  RETURN collect(p) AS people
}
"""

# What an ingest batch needs to know from the graph and does not know yet: the stored
# fingerprint and person of records sent before, and for each identifier or blocking key in
# $rows whether it exists (blocking keys always do) and its holders (up to $cap; none unless
# row.lookup).
LOOKUP_BATCH: LiteralString = """
CALL () {
  UNWIND $record_keys AS record_key
  MATCH (stored:Record {key: record_key})-[:PART_OF]->(owner:Person)
  RETURN collect([record_key, stored.fingerprint, owner.one_id]) AS stored
}
CALL () {
  UNWIND $rows AS row
  OPTIONAL MATCH (i:Identifier {key: row.key})
  WITH row, i WHERE row.block OR i IS NOT NULL
""" + _HOLDERS + """
  RETURN collect([row.key, [p IN people | p.one_id], coalesce(i.identities, [])]) AS holders
}
RETURN stored, holders
"""

# The different people the records carrying each value name (see domain/identities.py).
SET_IDENTITIES: LiteralString = """
UNWIND $rows AS row
MATCH (i:Identifier {key: row.key})
SET i.identities = row.identities
"""

IDENTITIES: LiteralString = """
UNWIND $keys AS key
MATCH (i:Identifier {key: key})
WHERE i.identities IS NOT NULL
RETURN key, i.identities AS identities
"""

# People merged through a value that turned out shared, taken apart again: stored records
# move to the new person (created here or by the batch's records), wherever they are now.
SPLIT_SHARED: LiteralString = """
UNWIND $splits AS s
MERGE (n:Person {one_id: s.new_one_id})
  ON CREATE SET n.status = 'active', n.created_at = datetime({epochMillis: $now})
SET n.updated_at = datetime({epochMillis: $now})
WITH n, s
CALL (n, s) {
  UNWIND s.record_keys AS key
  MATCH (r:Record {key: key})-[old:PART_OF]->(q:Person)
  WHERE q <> n
  CREATE (r)-[:PART_OF]->(n)
  DELETE old
  SET q.updated_at = datetime({epochMillis: $now})
}
CREATE (e:SplitEvent {event_id: s.event_id, at: datetime({epochMillis: $now}),
                      actor: 'idgraph', reason: s.reason, one_id: s.one_id,
                      new_one_id: s.new_one_id, record_keys: s.record_keys})
CREATE (e)-[:INVOLVES]->(n)
WITH e, s
MATCH (p:Person {one_id: s.one_id})
CREATE (e)-[:INVOLVES]->(p)
"""

CREATE_IDENTIFIERS: LiteralString = """
UNWIND $rows AS row
CREATE (:Identifier {key: row.key, type: row.type, scope: row.scope, value: row.value,
                     hashed: row.hashed, created_at: datetime({epochMillis: $now})})
"""

# What scoring needs of a person `p`: every record's attributes and every identifier.
_PERSON_EVIDENCE_CALLS: LiteralString = """
CALL (p) {
  MATCH (p)<-[:PART_OF]-(r:Record)
  RETURN collect(r.attributes) AS attributes
}
CALL (p) {
  MATCH (p)<-[:PART_OF]-(:Record)-[:HAS_IDENTIFIER]->(i:Identifier)
  WHERE NOT i.type STARTS WITH '_block:'
  RETURN collect(DISTINCT [i.type, i.scope, i.value, i.hashed]) AS identifiers
}
CALL (p) {
  OPTIONAL MATCH (p)-[:KEPT_APART]-(q:Person)
  RETURN collect(DISTINCT q.one_id) AS apart
}
"""

_PERSON_EVIDENCE: LiteralString = _PERSON_EVIDENCE_CALLS + """
RETURN p.one_id AS one_id, p.status AS status, p.created_at.epochMillis AS created_ms,
       attributes, identifiers, apart
"""

# Read-only look-up in one statement: the holders of each key (up to $cap) and, for keys
# held by at most row.max_holders people (not hubs), those people with what scoring needs.
RESOLVE_LOOKUP: LiteralString = """
UNWIND $rows AS row
""" + _HOLDERS + """
WITH collect([row.key, [p IN people | p.one_id]]) AS holders,
     reduce(acc = [], usable IN collect(CASE WHEN size(people) <= row.max_holders
                                             THEN people ELSE [] END) | acc + usable) AS usable
CALL (usable) {
  UNWIND usable AS p
  WITH DISTINCT p
""" + _PERSON_EVIDENCE_CALLS + """
  RETURN collect({one_id: p.one_id, status: p.status, created_ms: p.created_at.epochMillis,
                  attributes: attributes, identifiers: identifiers, apart: apart}) AS persons
}
RETURN holders, persons
"""

LOAD_PERSONS: LiteralString = """
UNWIND $one_ids AS one_id
MATCH (p:Person {one_id: one_id})
""" + _PERSON_EVIDENCE

# Moves the absorbed people's records to their final survivor; the absorbed node stays as a
# redirect, and earlier redirects to it are pointed at the survivor (one hop, always). A
# person minted and absorbed inside the same batch is created here, as a redirect.
MERGE_PERSONS: LiteralString = """
UNWIND $rows AS row
MERGE (a:Person {one_id: row.absorbed})
  ON CREATE SET a.created_at = datetime({epochMillis: $now})
WITH a, row
MATCH (s:Person {one_id: row.survivor})
CALL (a, s) {
  MATCH (a)<-[old:PART_OF]-(r:Record)
  CREATE (r)-[:PART_OF]->(s)
  DELETE old
}
CALL (a, s) {
  MATCH (x:Person {merged_into: a.one_id})
  SET x.merged_into = s.one_id
}
CALL (a, s) {
  MATCH (a)-[k:KEPT_APART]-(q:Person) WHERE q <> s
  CREATE (s)-[:KEPT_APART {at: k.at, actor: k.actor, reason: k.reason, task_id: k.task_id}]->(q)
  DELETE k
}
CALL (a, s) {
  MATCH (a)-[e:TAGGED]->(t:Tag)
  MERGE (s)-[n:TAGGED]->(t)
    ON CREATE SET n.source = e.source, n.actor = e.actor, n.at = e.at
  DELETE e
}
SET a.status = 'merged', a.merged_into = s.one_id, a.merged_at = datetime({epochMillis: $now}),
    s.updated_at = datetime({epochMillis: $now})
CREATE (a)-[:MERGED_INTO {at: datetime({epochMillis: $now}), event_id: row.event_id}]->(s)
"""

RECORD_MERGE_EVENTS: LiteralString = """
UNWIND $events AS ev
CREATE (e:MergeEvent {event_id: ev.event_id, at: datetime({epochMillis: $now}), rule: ev.rule,
                      score: ev.score, survivor: ev.survivor, absorbed: ev.absorbed,
                      record_key: ev.record_key, evidence: ev.evidence, actor: ev.actor})
WITH e, ev
MATCH (p:Person) WHERE p.one_id IN ev.absorbed OR p.one_id = ev.survivor
CREATE (e)-[:INVOLVES]->(p)
"""

# Creates records never stored before, each on its person (created when the OneID is new)
# and linked to its identifiers (which exist by now).
CREATE_RECORDS: LiteralString = """
UNWIND $rows AS row
MERGE (p:Person {one_id: row.one_id})
  ON CREATE SET p.status = 'active', p.created_at = datetime({epochMillis: $now})
SET p.updated_at = datetime({epochMillis: $now})
CREATE (r:Record {key: row.key, ingested_at: datetime({epochMillis: $now}), origin: row.one_id,
                  source: row.source, source_record_id: row.source_record_id,
                  observed_at: datetime({epochMillis: row.observed_at}),
                  attributes: row.attributes, fingerprint: row.fingerprint,
                  updated_at: datetime({epochMillis: $now}),
                  block0: row.blocks[0], block1: row.blocks[1], block2: row.blocks[2],
                  block3: row.blocks[3], block4: row.blocks[4], block5: row.blocks[5],
                  block6: row.blocks[6], block7: row.blocks[7]})
CREATE (r)-[:PART_OF]->(p)
WITH r, row
CALL (r, row) {
  UNWIND row.identifier_keys AS key
  MATCH (i:Identifier {key: key})
  CREATE (r)-[:HAS_IDENTIFIER]->(i)
}
"""

# Writes each record in place, attaches it to its person (created when the OneID is new)
# and replaces its identifier links.
UPSERT_RECORDS: LiteralString = """
UNWIND $rows AS row
MERGE (p:Person {one_id: row.one_id})
  ON CREATE SET p.status = 'active', p.created_at = datetime({epochMillis: $now})
SET p.updated_at = datetime({epochMillis: $now})
MERGE (r:Record {key: row.key})
  ON CREATE SET r.ingested_at = datetime({epochMillis: $now}), r.origin = row.one_id
SET r.source = row.source, r.source_record_id = row.source_record_id,
    r.observed_at = datetime({epochMillis: row.observed_at}), r.attributes = row.attributes,
    r.fingerprint = row.fingerprint, r.updated_at = datetime({epochMillis: $now}),
    r.block0 = row.blocks[0], r.block1 = row.blocks[1], r.block2 = row.blocks[2],
    r.block3 = row.blocks[3], r.block4 = row.blocks[4], r.block5 = row.blocks[5],
    r.block6 = row.blocks[6], r.block7 = row.blocks[7]
WITH r, p, row
CALL (r, p) {
  // The person a re-sent record leaves is written too (what the audience index follows).
  MATCH (r)-[:PART_OF]->(was:Person) WHERE was <> p
  SET was.updated_at = datetime({epochMillis: $now})
}
CALL (r) {
  MATCH (r)-[old:PART_OF|HAS_IDENTIFIER|MENTIONS|REFERRED_BY|AT_DEALER]->()
  DELETE old
}
CREATE (r)-[:PART_OF]->(p)
WITH r, row
CALL (r, row) {
  UNWIND row.identifier_keys AS key
  MATCH (i:Identifier {key: key})
  CREATE (r)-[:HAS_IDENTIFIER]->(i)
}
"""

# A newer owner of a VIN closes every older open ownership held by other people.
LINK_VEHICLES: LiteralString = """
UNWIND $rows AS row
MATCH (r:Record {key: row.key})-[:PART_OF]->(p:Person)
UNWIND row.vehicles AS v
WITH r, p, v, row,
     CASE WHEN v.since IS NULL THEN null ELSE datetime({epochMillis: v.since}) END AS since,
     CASE WHEN v.until IS NULL THEN null ELSE datetime({epochMillis: v.until}) END AS until
MERGE (car:Vehicle {vin: v.vin})
  ON CREATE SET car.created_at = datetime({epochMillis: $now})
SET car.model = CASE WHEN v.model = '' THEN car.model ELSE v.model END,
    car.plate = CASE WHEN v.plate = '' THEN car.plate ELSE v.plate END,
    car.make = CASE WHEN v.make = '' THEN car.make ELSE v.make END,
    car.model_year = coalesce(v.model_year, car.model_year)
CREATE (r)-[m:MENTIONS {relation: v.relation, since: since, until: until,
                        observed_at: datetime({epochMillis: row.observed_at})}]->(car)
WITH car, v, r, p, since, row, m
CALL (car, v, p, since, row) {
  // A newer owner closes the earlier owners' ownership at its start (the transfer date),
  // also one an even later transfer closed before this one arrived.
  MATCH (car)<-[o:MENTIONS {relation: 'OWNER'}]-(other:Record)-[:PART_OF]->(q:Person)
  WHERE v.relation = 'OWNER' AND since IS NOT NULL AND q <> p
    AND (o.since IS NULL OR o.since < since)
    AND (o.until IS NULL OR (o.closed_by IS NOT NULL AND o.until > since))
  SET o.until = since, o.closed_by = row.key, q.updated_at = datetime({epochMillis: $now})
}
CALL (car, v, p, since, m) {
  // An ownership that arrives after a later owner's is closed by the earliest later one.
  MATCH (car)<-[o:MENTIONS {relation: 'OWNER'}]-(later:Record)-[:PART_OF]->(q:Person)
  WHERE v.relation = 'OWNER' AND since IS NOT NULL AND m.until IS NULL AND q <> p
    AND o.since > since
  WITH m, o, later ORDER BY o.since LIMIT 1
  SET m.until = o.since, m.closed_by = later.key
}
"""

# Interest in a model without a VIN (a lead, a test drive): a MENTIONS edge to the model's
# node, read wherever vehicle mentions are read for models (profile, recommendations).
LINK_MODEL_INTERESTS: LiteralString = """
UNWIND $rows AS row
MATCH (r:Record {key: row.key})
UNWIND row.interests AS v
MERGE (model:Model {model: v.model})
CREATE (r)-[:MENTIONS {relation: v.relation,
                       since: CASE WHEN v.since IS NULL THEN null
                                   ELSE datetime({epochMillis: v.since}) END,
                       until: CASE WHEN v.until IS NULL THEN null
                                   ELSE datetime({epochMillis: v.until}) END,
                       observed_at: datetime({epochMillis: row.observed_at})}]->(model)
"""

# What a record says about other people and places: the identifiers naming its referrer
# (created when nobody holds them yet) and the dealers it comes from.
LINK_RELATIONS: LiteralString = """
UNWIND $rows AS row
MATCH (r:Record {key: row.key})
CALL (r, row) {
  UNWIND row.referrers AS ref
  MERGE (i:Identifier {key: ref.key})
    ON CREATE SET i.type = ref.type, i.scope = ref.scope, i.value = ref.value,
                  i.hashed = ref.hashed, i.created_at = datetime({epochMillis: $now})
  CREATE (r)-[:REFERRED_BY]->(i)
}
CALL (r, row) {
  UNWIND row.dealers AS code
  MERGE (d:Dealer {code: code})
  CREATE (r)-[:AT_DEALER]->(d)
}
"""

# A vehicle and every mention of it, with the active person each mention's record is on.
GET_VEHICLE: LiteralString = """
MATCH (car:Vehicle {vin: $vin})
OPTIONAL MATCH (car)<-[m:MENTIONS]-(r:Record)-[:PART_OF]->(p:Person)
WITH car, m, r, p ORDER BY r.key
RETURN car.vin AS vin, car.model AS model, car.plate AS plate,
       [(car)-[e:TAGGED]->(t:Tag) | {path: t.path, source: e.source, actor: e.actor, at: e.at}]
         AS tags,
       collect(CASE WHEN m IS NULL THEN null ELSE {
         relation: m.relation, since: m.since, until: m.until, observed_at: m.observed_at,
         one_id: p.one_id, source: r.source, source_record_id: r.source_record_id} END)
         AS mentions
"""

# A steward's decision that people stay apart (a cannot-link constraint), between the
# active people the given OneIDs point at; merges carry it over to the survivor.
KEEP_APART: LiteralString = """
UNWIND $pairs AS pair
MATCH (a:Person {one_id: pair[0]}), (b:Person {one_id: pair[1]})
WITH a, b,
     CASE WHEN a.status = 'merged' THEN a.merged_into ELSE a.one_id END AS first,
     CASE WHEN b.status = 'merged' THEN b.merged_into ELSE b.one_id END AS second
MATCH (x:Person {one_id: first, status: 'active'}), (y:Person {one_id: second, status: 'active'})
WHERE x <> y AND NOT (x)-[:KEPT_APART]-(y)
CREATE (x)-[:KEPT_APART {at: datetime({epochMillis: $now}), actor: $actor, reason: $reason,
                        task_id: $task_id}]->(y)
RETURN x.one_id AS first, y.one_id AS second
"""

# The lineage of a person (or its tombstone) and of the OneIDs merged into it: creations,
# merges, splits, review tasks opened and decided, erasures; oldest first.
HISTORY: LiteralString = """
MATCH (p:Person {one_id: $one_id})
OPTIONAL MATCH (x:Person {merged_into: p.one_id})
WITH p, [p.one_id] + collect(x.one_id) AS ids
CALL (ids) {
  MATCH (c:ChangeEvent) WHERE c.type IN ['CREATED', 'ERASED'] AND c.one_id IN ids
  RETURN c.at AS at, c.type AS kind, c.actor AS actor, c.one_id AS one_id,
         c.related AS related, '' AS rule, 0.0 AS score, '' AS reason, '' AS task_id,
         '' AS decision
  UNION ALL
  MATCH (e:MergeEvent)-[:INVOLVES]->(q:Person) WHERE q.one_id IN ids
  WITH DISTINCT e
  RETURN e.at AS at, 'MERGED' AS kind, e.actor AS actor, e.survivor AS one_id,
         e.absorbed AS related, e.rule AS rule, e.score AS score, '' AS reason,
         '' AS task_id, '' AS decision
  UNION ALL
  MATCH (e:SplitEvent)-[:INVOLVES]->(q:Person) WHERE q.one_id IN ids
  WITH DISTINCT e
  RETURN e.at AS at, 'SPLIT' AS kind, e.actor AS actor, e.one_id AS one_id,
         [e.new_one_id] AS related, 'manual' AS rule, 0.0 AS score, e.reason AS reason,
         '' AS task_id, '' AS decision
  UNION ALL
  MATCH (t:ReviewTask)-[:CONCERNS]->(q:Person) WHERE q.one_id IN ids
  WITH DISTINCT t
  RETURN t.created_at AS at, 'REVIEW_OPENED' AS kind, 'ingest' AS actor,
         t.one_id AS one_id, t.candidate_one_ids AS related, '' AS rule, t.score AS score,
         t.reason AS reason, t.task_id AS task_id, '' AS decision
  UNION ALL
  MATCH (t:ReviewTask {status: 'DECIDED'})-[:CONCERNS]->(q:Person) WHERE q.one_id IN ids
  WITH DISTINCT t
  RETURN t.decided_at AS at, 'REVIEW_DECIDED' AS kind, t.decided_by AS actor,
         t.one_id AS one_id, t.candidate_one_ids AS related, '' AS rule, t.score AS score,
         t.decision_reason AS reason, t.task_id AS task_id, t.decision AS decision
  UNION ALL
  MATCH (e:ReadEvent) WHERE $reads AND e.one_id IN ids
  RETURN e.at AS at, 'READ' AS kind, e.actor AS actor, e.one_id AS one_id, [] AS related,
         e.method AS rule, 0.0 AS score, '' AS reason, '' AS task_id, '' AS decision
}
RETURN at.epochMillis AS at_ms, kind, actor, one_id, related, rule, score, reason, task_id,
       decision
ORDER BY at_ms, kind
"""

# The suppression list ("do not process me"): keyed hashes of identifier keys.
SUPPRESS: LiteralString = """
MERGE (s:Suppression {digest: $digest})
ON CREATE SET s.type = $type, s.actor = $actor, s.reason = $reason,
              s.at = datetime({epochMillis: $now}), s.created = true
ON MATCH SET s.created = false
WITH s, s.created AS created
REMOVE s.created
RETURN created
"""

LIFT_SUPPRESSION: LiteralString = """
MATCH (s:Suppression {digest: $digest})
DELETE s
RETURN count(*) AS lifted
"""

SUPPRESSED: LiteralString = """
UNWIND $digests AS digest
MATCH (s:Suppression {digest: digest})
RETURN collect(digest) AS found
"""

# Read events (idgraph/audit.py), written outside the graph's write turn.
RECORD_READS: LiteralString = """
UNWIND $rows AS row
CREATE (:ReadEvent {one_id: row.one_id, actor: row.actor, method: row.method,
                    at: datetime({epochMillis: row.at_ms})})
"""

# --- erasure (statements of one transaction, in this order) --------------------------------

# The person, the OneIDs merged into it, and what their records point at.
ERASURE_SCOPE: LiteralString = """
MATCH (p:Person {one_id: $one_id, status: 'active'})
OPTIONAL MATCH (x:Person {merged_into: p.one_id})
WITH p, [p.one_id] + collect(x.one_id) AS ids
OPTIONAL MATCH (p)<-[:PART_OF]-(r:Record)
OPTIONAL MATCH (r)-[:HAS_IDENTIFIER]->(i:Identifier)
OPTIONAL MATCH (r)-[:MENTIONS]->(v:Vehicle)
OPTIONAL MATCH (r)-[:REFERRED_BY]->(named:Identifier)
RETURN ids, collect(DISTINCT r.key) AS records, collect(DISTINCT i.key) AS identifiers,
       collect(DISTINCT v.vin) AS vins, collect(DISTINCT named.key) AS referrers
"""

ERASE_RECORDS: LiteralString = """
UNWIND $records AS key
MATCH (r:Record {key: key})
DETACH DELETE r
"""

# Identifiers and vehicles nobody else's records point at any more: the person's own
# identifiers go unless someone else holds them (also when other records name them as a
# referrer: the erasure wins); the referrers it named go unless someone holds or names them.
ERASE_ORPHANS: LiteralString = """
CALL () {
  UNWIND $identifiers AS key
  MATCH (i:Identifier {key: key}) WHERE NOT (i)<-[:HAS_IDENTIFIER]-()
  DETACH DELETE i
}
CALL () {
  UNWIND $referrers AS key
  MATCH (i:Identifier {key: key}) WHERE NOT (i)<-[:HAS_IDENTIFIER|REFERRED_BY]-()
  DELETE i
}
CALL () {
  UNWIND $vins AS vin
  MATCH (v:Vehicle {vin: vin}) WHERE NOT (v)<-[:MENTIONS]-()
  DETACH DELETE v
}
"""

# What the history keeps of the person loses every value: evidence, record keys, free-text
# reasons; steward decisions about them go (their edges carry reasons).
SCRUB_LINEAGE: LiteralString = """
CALL () {
  MATCH (e:MergeEvent)-[:INVOLVES]->(q:Person) WHERE q.one_id IN $ids
  SET e.evidence = '', e.record_key = ''
}
CALL () {
  MATCH (e:SplitEvent)-[:INVOLVES]->(q:Person) WHERE q.one_id IN $ids
  SET e.record_keys = [], e.reason = '(erased)'
}
CALL () {
  MATCH (t:ReviewTask)-[:CONCERNS]->(q:Person) WHERE q.one_id IN $ids
  SET t.evidence = '', t.record_key = '',
      t.decision_reason = CASE WHEN t.decision_reason IS NULL THEN null ELSE '(erased)' END,
      t.status = CASE WHEN t.status = 'OPEN' THEN 'DECIDED' ELSE t.status END,
      t.decision = coalesce(t.decision, 'ERASED')
}
CALL () {
  MATCH (q:Person)-[k:KEPT_APART]-() WHERE q.one_id IN $ids
  DELETE k
}
"""

# Tombstones: the OneIDs stay (so clients learn they were erased), nothing else does.
TOMBSTONE_PERSONS: LiteralString = """
UNWIND $ids AS one_id
MATCH (q:Person {one_id: one_id})
SET q = {one_id: one_id, status: 'erased', erased_at: datetime({epochMillis: $now}),
         erased_by: $actor, erasure_reason: $reason,
         merged_into: CASE WHEN one_id = $one_id THEN null ELSE $one_id END}
WITH q
CALL (q) {
  MATCH (q)-[e:TAGGED]->()
  DELETE e
}
"""

# A tag assigned to a person (active) or a vehicle, with its source; answers the target.
ASSIGN_PERSON_TAG: LiteralString = """
MATCH (p:Person {one_id: $one_id, status: 'active'})
MERGE (t:Tag {key: 'person:' + $path}) ON CREATE SET t.path = $path, t.kind = 'person'
MERGE (p)-[e:TAGGED]->(t)
SET e.source = $source, e.actor = $actor, e.at = datetime({epochMillis: $now}),
    p.updated_at = datetime({epochMillis: $now})
RETURN p.one_id AS target
"""

ASSIGN_VEHICLE_TAG: LiteralString = """
MATCH (v:Vehicle {vin: $vin})
MERGE (t:Tag {key: 'vehicle:' + $path}) ON CREATE SET t.path = $path, t.kind = 'vehicle'
MERGE (v)-[e:TAGGED]->(t)
SET e.source = $source, e.actor = $actor, e.at = datetime({epochMillis: $now})
RETURN v.vin AS target
"""

REMOVE_PERSON_TAG: LiteralString = """
MATCH (p:Person {one_id: $one_id})-[e:TAGGED]->(:Tag {key: 'person:' + $path})
DELETE e
SET p.updated_at = datetime({epochMillis: $now})
RETURN count(*) AS removed
"""

REMOVE_VEHICLE_TAG: LiteralString = """
MATCH (:Vehicle {vin: $vin})-[e:TAGGED]->(:Tag {key: 'vehicle:' + $path})
DELETE e
RETURN count(*) AS removed
"""

# A steward's merge is a must-link: the first record (by key) of each absorbed person is tied
# to the survivor's first record, and a later split may not separate tied records.
MUST_LINK: LiteralString = """
MATCH (s:Person {one_id: $survivor})<-[:PART_OF]-(sr:Record)
WITH sr ORDER BY sr.key LIMIT 1
UNWIND $absorbed_firsts AS key
MATCH (ar:Record {key: key})
CREATE (sr)-[:MUST_LINK {at: datetime({epochMillis: $now}), actor: $actor,
                         event_id: $event_id}]->(ar)
"""

FIRST_RECORDS: LiteralString = """
UNWIND $one_ids AS one_id
MATCH (:Person {one_id: one_id})<-[:PART_OF]-(r:Record)
WITH one_id, min(r.key) AS first
RETURN one_id, first
"""

# Must-links a split would cut: pairs of tied records, one moving and one staying.
CUT_MUST_LINKS: LiteralString = """
MATCH (:Person {one_id: $one_id})<-[:PART_OF]-(a:Record)-[m:MUST_LINK]-(b:Record)
WHERE a.key IN $moving AND NOT b.key IN $moving
RETURN a.key AS moving, b.key AS staying, m.actor AS actor
"""

PERSON_RECORD_KEYS: LiteralString = """
MATCH (:Person {one_id: $one_id})<-[:PART_OF]-(r:Record)
RETURN r.key AS key
"""

# A steward's split: the moving records go to a new person, which inherits the person's
# kept-apart decisions (not those about $siblings, other new people of the same split) and
# is kept apart from it; OneIDs merged into the person whose
# records (by origin) all moved now redirect to the new person; the split is recorded.
SPLIT_PERSON: LiteralString = """
MATCH (s:Person {one_id: $one_id, status: 'active'})
CREATE (n:Person {one_id: $new_one_id, status: 'active', created_at: datetime({epochMillis: $now}),
                  updated_at: datetime({epochMillis: $now})})
SET s.updated_at = datetime({epochMillis: $now})
WITH s, n
CALL (s, n) {
  UNWIND $record_keys AS key
  MATCH (r:Record {key: key})-[old:PART_OF]->(s)
  CREATE (r)-[:PART_OF]->(n)
  DELETE old
}
CALL (s, n) {
  MATCH (s)-[k:KEPT_APART]-(q:Person) WHERE NOT q.one_id IN $siblings
  CREATE (n)-[:KEPT_APART {at: k.at, actor: k.actor, reason: k.reason, task_id: k.task_id}]->(q)
}
CALL (s, n) {
  MATCH (x:Person {merged_into: s.one_id})
  WHERE EXISTS { MATCH (r:Record {origin: x.one_id}) WHERE r.key IN $record_keys }
    AND NOT EXISTS { MATCH (r:Record {origin: x.one_id}) WHERE NOT r.key IN $record_keys }
  SET x.merged_into = n.one_id
  WITH x
  MATCH (x)-[m:MERGED_INTO]->(s)
  CREATE (x)-[:MERGED_INTO {at: m.at, event_id: m.event_id}]->(n)
  DELETE m
}
CREATE (s)-[:KEPT_APART {at: datetime({epochMillis: $now}), actor: $actor, reason: $reason,
                        task_id: ''}]->(n)
CREATE (e:SplitEvent {event_id: $event_id, at: datetime({epochMillis: $now}), actor: $actor,
                      reason: $reason, one_id: $one_id, new_one_id: $new_one_id,
                      record_keys: $record_keys})
CREATE (e)-[:INVOLVES]->(s), (e)-[:INVOLVES]->(n)
"""

# The change feed's entries of one transaction; positions follow commit order.
RECORD_CHANGES: LiteralString = """
UNWIND $changes AS c
CREATE (:ChangeEvent {position: c.position, type: c.type, one_id: c.one_id,
                      related: c.related, actor: c.actor, rule: c.rule, score: c.score,
                      at: datetime({epochMillis: $now})})
"""

CHANGES_AFTER: LiteralString = """
MATCH (c:ChangeEvent) WHERE c.position > $after
RETURN c.position AS position, c.type AS type, c.one_id AS one_id, c.related AS related,
       c.actor AS actor, c.rule AS rule, c.score AS score, c.at.epochMillis AS at_ms
ORDER BY c.position
LIMIT $limit
"""

CREATE_REVIEW_TASKS: LiteralString = """
UNWIND $tasks AS t
CREATE (task:ReviewTask {task_id: t.task_id, status: 'OPEN',
                         created_at: datetime({epochMillis: $now}), record_key: t.record_key,
                         one_id: t.one_id, candidate_one_ids: t.candidates, score: t.score,
                         reason: t.reason, evidence: t.evidence})
WITH task, t
MATCH (p:Person) WHERE p.one_id = t.one_id OR p.one_id IN t.candidates
CREATE (task)-[:CONCERNS]->(p)
"""

# --- review tasks ------------------------------------------------------------------------

_TASK_FIELDS: LiteralString = """
t.task_id AS task_id, t.status AS status, t.created_at.epochMillis AS created_ms,
t.record_key AS record_key, t.one_id AS one_id, t.candidate_one_ids AS candidates,
t.score AS score, t.reason AS reason, t.evidence AS evidence, t.decision AS decision,
t.decided_by AS decided_by, t.decided_at.epochMillis AS decided_ms,
t.decision_reason AS decision_reason
"""

# What deciding a task changes: its people now (an absorbed OneID counts as its survivor)
# and the records they hold.
_TASK_IMPACT: LiteralString = """
CALL (t) {
  UNWIND [t.one_id] + coalesce(t.candidate_one_ids, []) AS oid
  MATCH (p:Person {one_id: oid})
  OPTIONAL MATCH (s:Person {one_id: p.merged_into})
  WITH DISTINCT coalesce(s, p) AS person
  OPTIONAL MATCH (person)<-[:PART_OF]-(r:Record)
  RETURN count(DISTINCT person) AS people_involved, count(r) AS records_involved
}
"""

_TASK_FILTER: LiteralString = """
MATCH (t:ReviewTask)
WHERE ($status = '' OR t.status = $status)
  AND (NOT $banded OR (t.score >= $min_score AND t.score <= $max_score))
  AND ($reason = '' OR t.reason CONTAINS $reason)
  AND ($source_prefix = '' OR t.record_key STARTS WITH $source_prefix)
"""

# Oldest first, key-set paginated on (created_at, task_id).
LIST_REVIEW_TASKS: LiteralString = _TASK_FILTER + """
  AND (t.created_at.epochMillis > $after_ms
       OR (t.created_at.epochMillis = $after_ms AND t.task_id > $after_id))
WITH t ORDER BY t.created_at.epochMillis, t.task_id LIMIT $limit
""" + _TASK_IMPACT + """
RETURN """ + _TASK_FIELDS + """, people_involved, records_involved
ORDER BY created_ms, task_id
"""

# Most records involved first, then most people, then oldest; key-set paginated on
# (records, people, created_at, task_id).
LIST_REVIEW_TASKS_LARGEST: LiteralString = _TASK_FILTER + _TASK_IMPACT + """
WITH t, people_involved, records_involved
WHERE records_involved < $after_records
   OR (records_involved = $after_records AND (people_involved < $after_people
   OR (people_involved = $after_people AND (t.created_at.epochMillis > $after_ms
   OR (t.created_at.epochMillis = $after_ms AND t.task_id > $after_id)))))
RETURN """ + _TASK_FIELDS + """, people_involved, records_involved
ORDER BY records_involved DESC, people_involved DESC, created_ms, task_id
LIMIT $limit
"""

GET_REVIEW_TASK: LiteralString = """
MATCH (t:ReviewTask {task_id: $task_id})
RETURN """ + _TASK_FIELDS

DECIDE_REVIEW_TASK: LiteralString = """
MATCH (t:ReviewTask {task_id: $task_id, status: 'OPEN'})
SET t.status = 'DECIDED', t.decision = $decision, t.decided_by = $actor,
    t.decided_at = datetime({epochMillis: $now}), t.decision_reason = $reason
RETURN """ + _TASK_FIELDS

# --- backfill checkpoints ------------------------------------------------------------------

SAVE_CHECKPOINT: LiteralString = """
MERGE (c:BackfillCheckpoint {name: $name})
SET c += $state, c.updated_at = datetime({epochMillis: $now})
"""

LOAD_CHECKPOINT: LiteralString = """
MATCH (c:BackfillCheckpoint {name: $name})
RETURN properties(c) AS state
"""

# --- reads -------------------------------------------------------------------------------

PERSON_STATUS: LiteralString = """
MATCH (p:Person {one_id: $one_id})
RETURN p.status AS status, p.merged_into AS merged_into
"""

PEOPLE_BY_IDENTIFIER: LiteralString = """
MATCH (:Identifier {key: $key})<-[:HAS_IDENTIFIER]-(:Record)-[:PART_OF]->(p:Person)
RETURN DISTINCT p.one_id AS one_id
LIMIT $limit
"""

PROFILE: LiteralString = """
UNWIND $one_ids AS one_id
MATCH (p:Person {one_id: one_id})
CALL (p) {
  OPTIONAL MATCH (p)<-[:PART_OF]-(r:Record)
  CALL (r) {
    MATCH (r)-[:HAS_IDENTIFIER]->(i:Identifier)
    WHERE NOT i.type STARTS WITH '_block:'
    RETURN collect(i {.key, .type, .scope, .value, .hashed}) AS identifiers
  }
  CALL (r) {
    MATCH (r)-[m:MENTIONS]->(car:Vehicle|Model)
    RETURN collect({vin: car.vin, model: car.model, plate: car.plate, relation: m.relation,
                    since: m.since.epochMillis, until: m.until.epochMillis, make: car.make,
                    model_year: car.model_year,
                    tags: [(car)-[:TAGGED]->(t:Tag) | t.path]}) AS vehicles
  }
  WITH r, identifiers, vehicles WHERE r IS NOT NULL
  RETURN collect(r {.source, .source_record_id, observed_at: r.observed_at.epochMillis,
                    ingested_at: r.ingested_at.epochMillis, .attributes, .trust,
                    .fingerprint, identifiers: identifiers, vehicles: vehicles}) AS records
}
CALL (p) {
  OPTIONAL MATCH (x:Person {merged_into: p.one_id})
  RETURN collect(x.one_id) AS merged
}
RETURN p.one_id AS one_id, p.status AS status, p.created_at.epochMillis AS created_at,
       p.updated_at.epochMillis AS updated_at, records, merged,
       [(p)-[e:TAGGED]->(t:Tag) | {path: t.path, source: e.source, actor: e.actor,
                                   at: e.at.epochMillis}] AS tags
"""

# Times are read as epoch milliseconds: hydrating a driver datetime costs more than the
# rest of a profile (the audience index reads every profile).

# The stored records of people, by OneID, to resolve them again (a namesake check, a value
# that became shared): one round trip for all the people a step needs; PROFILE's record
# maps without the ingestion time, times as epoch ms (much cheaper to read than datetimes).
STORED_RECORDS_OF: LiteralString = """
UNWIND $one_ids AS one_id
MATCH (:Person {one_id: one_id})<-[:PART_OF]-(r:Record)
CALL (r) {
  MATCH (r)-[:HAS_IDENTIFIER]->(i:Identifier)
  WHERE NOT i.type STARTS WITH '_block:'
  RETURN collect(i {.type, .scope, .value, .hashed}) AS identifiers
}
CALL (r) {
  MATCH (r)-[m:MENTIONS]->(car:Vehicle|Model)
  RETURN collect({vin: car.vin, model: car.model, plate: car.plate, relation: m.relation,
                  since: m.since.epochMillis, until: m.until.epochMillis}) AS vehicles
}
RETURN one_id, r {.source, .source_record_id, .attributes, .fingerprint,
                  observed_at: r.observed_at.epochMillis, identifiers: identifiers,
                  vehicles: vehicles} AS record
"""

# What relationships are read from: the identifiers the person's records name as their
# referrer (with their holders), other people's records naming an identifier the person
# holds, and the landlines and phones (of $types) the person shares with up to $cap others,
# with those people's record attributes and whether a steward kept them apart.
PERSON_RELATIONS: LiteralString = """
UNWIND $one_ids AS one_id
MATCH (p:Person {one_id: one_id})
CALL (p) {
  OPTIONAL MATCH (p)<-[:PART_OF]-(r:Record)-[:REFERRED_BY]->(i:Identifier)
  WITH i, min(r.observed_at.epochMillis) AS at WHERE i IS NOT NULL
  CALL (i) {
    OPTIONAL MATCH (i)<-[:HAS_IDENTIFIER]-(:Record)-[:PART_OF]->(h:Person)
    WITH DISTINCT h LIMIT 2
    RETURN collect(h.one_id) AS holders
  }
  RETURN collect({type: i.type, value: i.value, hashed: i.hashed, at: at,
                  holders: holders}) AS named
}
CALL (p) {
  OPTIONAL MATCH (p)<-[:PART_OF]-(:Record)-[:HAS_IDENTIFIER]->(i:Identifier)
                 <-[:REFERRED_BY]-(r:Record)-[:PART_OF]->(q:Person)
  WITH i, q, min(r.observed_at.epochMillis) AS at WHERE q IS NOT NULL AND q <> p
  CALL (i) {
    MATCH (i)<-[:HAS_IDENTIFIER]-(:Record)-[:PART_OF]->(h:Person)
    WITH DISTINCT h LIMIT 2
    RETURN count(h) AS holders
  }
  RETURN collect({type: i.type, value: i.value, hashed: i.hashed, at: at, one_id: q.one_id,
                  holders: holders}) AS naming
}
CALL (p) {
  OPTIONAL MATCH (p)<-[:PART_OF]-(mine:Record)-[:HAS_IDENTIFIER]->(i:Identifier)
  WHERE i.type IN $types
  WITH i, min(mine.observed_at.epochMillis) AS first_seen WHERE i IS NOT NULL
  CALL (i, p) {
    OPTIONAL MATCH (i)<-[:HAS_IDENTIFIER]-(r:Record)-[:PART_OF]->(q:Person) WHERE q <> p
    WITH q, min(r.observed_at.epochMillis) AS at WHERE q IS NOT NULL
    LIMIT $cap
    RETURN collect({one_id: q.one_id, first_seen: at,
                    apart: EXISTS { (p)-[:KEPT_APART]-(q) },
                    attributes: [(q)<-[:PART_OF]-(x:Record) | x.attributes]}) AS others
  }
  WITH i, first_seen, others WHERE size(others) > 0
  RETURN collect({type: i.type, value: i.value, hashed: i.hashed, first_seen: first_seen,
                  others: others}) AS shared
}
RETURN p.one_id AS one_id, named, naming, shared
"""

# --- recommendations ---------------------------------------------------------------------

# For each active person among $one_ids: the vehicle mentions of their records (model,
# relation, still open, the record's dealer), the sources of their records, and each
# record's attributes with its time (consent, city), for the people that exist.
PERSON_SUMMARIES: LiteralString = """
UNWIND $one_ids AS one_id
MATCH (p:Person {one_id: one_id, status: 'active'})
CALL (p) {
  MATCH (p)<-[:PART_OF]-(r:Record)
  OPTIONAL MATCH (r)-[:AT_DEALER]->(d:Dealer)
  WITH r, collect(d.code) AS dealers
  RETURN collect({source: r.source, at: coalesce(r.observed_at.epochMillis, 0),
                  attributes: r.attributes,
                  dealers: dealers,
                  touches: [(r)-[m:MENTIONS]->(car:Vehicle|Model) WHERE car.model IS NOT NULL |
                            {model: car.model, relation: m.relation, current: m.until IS NULL,
                             since: m.since.epochMillis}]
                 }) AS records
}
RETURN p.one_id AS one_id, records,
       [(p)-[e:TAGGED]->(t:Tag) | t.path] AS assigned_tags
"""

# Every active person's models (owned, test-driven, asked about), each with its first
# start and whether a mention is still open, one row per person: what owners buy next,
# what people interested in a model also consider, and how many own each model now (for
# the next-model walk and the popularity baseline).
MODEL_TOUCHES: LiteralString = """
MATCH (car:Vehicle|Model)<-[m:MENTIONS]-(:Record)-[:PART_OF]->(q:Person)
WHERE car.model IS NOT NULL AND q.status = 'active'
  AND m.relation IN ['OWNER', 'TEST_DRIVE', 'INTERESTED']
WITH q, car, m.relation AS relation, min(m.since) AS since,
     max(CASE WHEN m.until IS NULL THEN 1 ELSE 0 END) AS open
WITH q, collect([car.model, relation, since.epochMillis, open = 1]) AS touched
RETURN touched
"""

# People sharing a feature with the seeds: up to $cap current owners of each of their
# models and customers of each of their dealers, listed per feature (cities are not
# indexed: they are compared among the people found this way).
FEATURE_NEIGHBOURS: LiteralString = """
CALL () {
  UNWIND $models AS model
  CALL (model) {
    MATCH (:Vehicle {model: model})<-[m:MENTIONS {relation: 'OWNER'}]-(:Record)
          -[:PART_OF]->(q:Person {status: 'active'})
    WHERE m.until IS NULL
    RETURN DISTINCT q LIMIT $cap
  }
  WITH model, collect(q.one_id) AS people
  RETURN collect(['model:' + model, people]) AS by_model
}
CALL () {
  UNWIND $dealers AS code
  CALL (code) {
    MATCH (:Dealer {code: code})<-[:AT_DEALER]-(:Record)-[:PART_OF]->(q:Person {status: 'active'})
    RETURN DISTINCT q LIMIT $cap
  }
  WITH code, collect(q.one_id) AS people
  RETURN collect(['dealer:' + code, people]) AS by_dealer
}
RETURN by_model + by_dealer AS features
"""

HOLDER_COUNTS: LiteralString = """
UNWIND $rows AS row
""" + _HOLDERS + """
RETURN row.key AS key, size(people) AS holders
"""

# The ID-mapping table, one page at a time in record-key order (key-set pagination).
MAPPING_PAGE: LiteralString = """
MATCH (r:Record)-[:PART_OF]->(p:Person)
WHERE r.key > $after
RETURN r.key AS key, r.source AS source, r.source_record_id AS source_record_id,
       p.one_id AS one_id
ORDER BY r.key
LIMIT $limit
"""

# The active people whose records hold a value (the console's search for a shared value).
VALUE_HOLDERS: LiteralString = """
MATCH (:Identifier {key: $key})<-[:HAS_IDENTIFIER]-(:Record)-[:PART_OF]->(p:Person)
WHERE p.status = 'active'
RETURN DISTINCT p.one_id AS one_id
ORDER BY one_id
LIMIT $limit
"""

REVIEW_REASONS: LiteralString = """
MATCH (t:ReviewTask {status: 'OPEN'})
RETURN t.reason AS reason, count(*) AS n
ORDER BY n DESC, reason
LIMIT $limit
"""

COUNT_OPEN_TASKS: LiteralString = "MATCH (t:ReviewTask {status: 'OPEN'}) RETURN count(t) AS open"

# Values whose records name two or more different people, or held by more records than the
# smallest hub threshold (then by more people than their type's): counted by type, by how
# many people their records name and whether they are a hub (the metrics' shared values).
SHARED_VALUES: LiteralString = """
MATCH (i:Identifier)
WHERE (i.identities IS NOT NULL AND size(i.identities) >= 2)
   OR ($min_hub IS NOT NULL AND COUNT { (i)<-[:HAS_IDENTIFIER]-() } > $min_hub)
WITH i, $hubs[i.type] AS hub
WITH i, hub IS NOT NULL AND COUNT {
  MATCH (i)<-[:HAS_IDENTIFIER]-(:Record)-[:PART_OF]->(p:Person) RETURN DISTINCT p } > hub AS is_hub
RETURN i.type AS type, coalesce(size(i.identities), 0) AS named, is_hub, count(*) AS values
"""

# What lead grading reads of active people: each record's source, time (epoch ms),
# attributes (addresses, consent), dealers and vehicle mentions with their bounds.
LEAD_FACTS: LiteralString = """
UNWIND $one_ids AS one_id
MATCH (p:Person {one_id: one_id, status: 'active'})
CALL (p) {
  MATCH (p)<-[:PART_OF]-(r:Record)
  RETURN collect({source: r.source, at: coalesce(r.observed_at.epochMillis, 0),
                  attributes: r.attributes,
                  dealers: [(r)-[:AT_DEALER]->(d:Dealer) | d.code],
                  vehicles: [(r)-[m:MENTIONS]->(car:Vehicle|Model) |
                             {relation: m.relation, model: coalesce(car.model, ''),
                              since: m.since.epochMillis, until: m.until.epochMillis}]
                 }) AS records
}
RETURN p.one_id AS one_id, records
"""

# The active people with a record from one of $sources (the leads training learns from).
LEAD_PEOPLE: LiteralString = """
MATCH (r:Record) WHERE r.source IN $sources
MATCH (r)-[:PART_OF]->(p:Person {status: 'active'})
RETURN DISTINCT p.one_id AS one_id
ORDER BY one_id
"""

# --- rule previews (idgraph/engine/rule_changes.py) ----------------------------------------

# Every record with its active person (and the person's age), a page at a time in key order,
# as STORED_RECORDS_OF's record maps: what a rule preview resolves again.
RULE_PREVIEW_RECORDS: LiteralString = """
MATCH (r:Record) WHERE r.key > $after
WITH r ORDER BY r.key LIMIT $limit
MATCH (r)-[:PART_OF]->(p:Person)
CALL (r) {
  MATCH (r)-[:HAS_IDENTIFIER]->(i:Identifier)
  WHERE NOT i.type STARTS WITH '_block:'
  RETURN collect(i {.type, .scope, .value, .hashed}) AS identifiers
}
CALL (r) {
  MATCH (r)-[m:MENTIONS]->(car:Vehicle|Model)
  RETURN collect({vin: car.vin, model: car.model, plate: car.plate, relation: m.relation,
                  since: m.since.epochMillis, until: m.until.epochMillis}) AS vehicles
}
RETURN r.key AS key, p.one_id AS one_id, p.created_at.epochMillis AS created_ms,
       r {.source, .source_record_id, .attributes, .fingerprint,
          observed_at: r.observed_at.epochMillis, identifiers: identifiers,
          vehicles: vehicles} AS record
ORDER BY key
"""

# The steward's decisions a preview respects and the records a review task was opened for.
RULE_PREVIEW_DECISIONS: LiteralString = """
CALL () {
  MATCH (a:Person {status: 'active'})-[:KEPT_APART]->(b:Person {status: 'active'})
  RETURN collect([a.one_id, b.one_id]) AS kept_apart
}
CALL () {
  MATCH (a:Record)-[:MUST_LINK]->(b:Record)
  RETURN collect([a.key, b.key]) AS must_links
}
CALL () {
  MATCH (t:ReviewTask)
  RETURN collect(DISTINCT t.record_key) AS with_task
}
RETURN kept_apart, must_links, with_task
"""

# The graph's write epoch, without taking the write turn.
WRITE_EPOCH: LiteralString = """
OPTIONAL MATCH (e:WriteEpoch {name: 'graph'})
RETURN coalesce(e.value, 0) AS epoch
"""

# The rules last applied by `idgraph rules apply` (one node), and recording them.
APPLIED_RULES: LiteralString = """
MATCH (a:AppliedRules {name: 'graph'})
RETURN a.digest AS digest, a.toml AS toml, a.actor AS actor, a.at.epochMillis AS at_ms
"""

RECORD_APPLIED_RULES: LiteralString = """
MERGE (a:AppliedRules {name: 'graph'})
SET a.digest = $digest, a.toml = $toml, a.actor = $actor, a.at = datetime({epochMillis: $now})
"""

# --- audiences ---------------------------------------------------------------------------

# Every active person's OneID: what the audience index is built from.
ACTIVE_ONE_IDS: LiteralString = """
MATCH (p:Person) WHERE p.status = 'active'
RETURN p.one_id AS one_id
"""

# The people written since a time (any status: merged and erased ones leave the index).
PEOPLE_UPDATED_SINCE: LiteralString = """
MATCH (p:Person) WHERE p.updated_at >= datetime({epochMillis: $since})
RETURN p.one_id AS one_id
UNION
MATCH (p:Person) WHERE p.erased_at >= datetime({epochMillis: $since})
RETURN p.one_id AS one_id
UNION
MATCH (p:Person) WHERE p.merged_at >= datetime({epochMillis: $since})
RETURN p.one_id AS one_id
"""

# What an export sends of each member, read afresh: whether the person is still active, the
# identifiers their records hold, and their consent statements (records stating
# consent_marketing, with when they were observed).
EXPORT_PEOPLE: LiteralString = """
UNWIND $one_ids AS one_id
MATCH (p:Person {one_id: one_id}) WHERE p.status = 'active'
CALL (p) {
  MATCH (p)<-[:PART_OF]-(r:Record)-[:HAS_IDENTIFIER]->(i:Identifier)
  WHERE NOT i.type STARTS WITH '_block:'
  RETURN collect(DISTINCT [i.key, i.type, i.value, i.hashed]) AS identifiers
}
CALL (p) {
  MATCH (p)<-[:PART_OF]-(r:Record) WHERE r.attributes CONTAINS 'consent_marketing'
  RETURN collect([r.observed_at.epochMillis, r.attributes]) AS statements
}
RETURN p.one_id AS one_id, identifiers, statements
"""

# The whole suppression list, when it is short (an export checks every value against it).
SUPPRESSION_DIGESTS: LiteralString = """
MATCH (s:Suppression)
WITH collect(s.digest) AS digests
RETURN CASE WHEN size(digests) <= $cap THEN digests ELSE null END AS digests
"""

SAVE_AUDIENCE: LiteralString = """
MERGE (a:Audience {name: $name})
  ON CREATE SET a.created_at = datetime({epochMillis: $now}), a.created_by = $actor
SET a.owner = $owner, a.description = $description, a.definition = $definition,
    a.updated_at = datetime({epochMillis: $now})
CREATE (e:AudienceEvent {kind: $kind, at: datetime({epochMillis: $now}), actor: $actor,
                         size: $size, exported: 0, identifiers: [], definition: $definition})
CREATE (e)-[:OF]->(a)
RETURN a.created_at.epochMillis AS created_ms
"""

AUDIENCE: LiteralString = """
MATCH (a:Audience {name: $name})
RETURN a.name AS name, a.owner AS owner, a.description AS description,
       a.definition AS definition, a.created_by AS created_by,
       a.created_at.epochMillis AS created_ms, a.updated_at.epochMillis AS updated_ms,
       [(e:AudienceEvent)-[:OF]->(a) | e {.kind, .actor, .size, .exported, .identifiers,
                                          .format, at: e.at.epochMillis}] AS events
"""

AUDIENCES: LiteralString = """
MATCH (a:Audience) WHERE a.name > $after
RETURN a.name AS name, a.owner AS owner, a.description AS description,
       a.definition AS definition, a.created_by AS created_by,
       a.created_at.epochMillis AS created_ms, a.updated_at.epochMillis AS updated_ms,
       [(e:AudienceEvent)-[:OF]->(a) | e {.kind, .actor, .size, .exported, .identifiers,
                                          .format, at: e.at.epochMillis}] AS events
ORDER BY a.name LIMIT $limit
"""

DELETE_AUDIENCE: LiteralString = """
MATCH (a:Audience {name: $name})
OPTIONAL MATCH (e:AudienceEvent)-[:OF]->(a)
DETACH DELETE a, e
RETURN count(*) AS deleted
"""

# An export, recorded in the audience's history: who, when, how many, which identifiers.
RECORD_EXPORT: LiteralString = """
MATCH (a:Audience {name: $name})
CREATE (e:AudienceEvent {kind: 'exported', at: datetime({epochMillis: $now}), actor: $actor,
                         size: $size, exported: $exported, identifiers: $identifiers,
                         format: $format, excluded: $excluded})
CREATE (e)-[:OF]->(a)
"""
