// Audiences by name; the audience index catches up on the people written since its last
// look (Person.updated_at, erased_at, merged_at: range scans instead of a label scan).
CREATE CONSTRAINT audience_name IF NOT EXISTS FOR (a:Audience) REQUIRE a.name IS UNIQUE;
CREATE INDEX person_updated_at IF NOT EXISTS FOR (p:Person) ON (p.updated_at);
CREATE INDEX person_erased_at IF NOT EXISTS FOR (p:Person) ON (p.erased_at);
CREATE INDEX person_merged_at IF NOT EXISTS FOR (p:Person) ON (p.merged_at);
