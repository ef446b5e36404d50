// Dealers a person's records come from or name: (:Record)-[:AT_DEALER]->(:Dealer {code}).
// Referrals are (:Record)-[:REFERRED_BY]->(:Identifier) and need no schema of their own.
CREATE CONSTRAINT dealer_code IF NOT EXISTS FOR (d:Dealer) REQUIRE d.code IS UNIQUE;
