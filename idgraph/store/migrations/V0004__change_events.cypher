// The change feed: one ChangeEvent per created, merged, split or erased person, at a
// position that follows commit order (write epoch * 2^20 + its index in the transaction).
CREATE CONSTRAINT change_event_position IF NOT EXISTS FOR (c:ChangeEvent) REQUIRE c.position IS UNIQUE;
