// Blocking keys live on the record as indexed properties block0..block7 (key i of the rules
// in block<i>), not as nodes: a record costs index entries instead of nodes and relationships.
CREATE INDEX record_block0 IF NOT EXISTS FOR (r:Record) ON (r.block0);
CREATE INDEX record_block1 IF NOT EXISTS FOR (r:Record) ON (r.block1);
CREATE INDEX record_block2 IF NOT EXISTS FOR (r:Record) ON (r.block2);
CREATE INDEX record_block3 IF NOT EXISTS FOR (r:Record) ON (r.block3);
CREATE INDEX record_block4 IF NOT EXISTS FOR (r:Record) ON (r.block4);
CREATE INDEX record_block5 IF NOT EXISTS FOR (r:Record) ON (r.block5);
CREATE INDEX record_block6 IF NOT EXISTS FOR (r:Record) ON (r.block6);
CREATE INDEX record_block7 IF NOT EXISTS FOR (r:Record) ON (r.block7);
