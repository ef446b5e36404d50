// The suppression list ("do not process me"): one node per keyed hash of a value.
CREATE CONSTRAINT suppression_digest IF NOT EXISTS FOR (s:Suppression) REQUIRE s.digest IS UNIQUE;
