// The write epoch: every write transaction increments it first, so writers take turns and
// each can tell whether someone else wrote since its own last commit.
CREATE CONSTRAINT write_epoch_name IF NOT EXISTS FOR (e:WriteEpoch) REQUIRE e.name IS UNIQUE;
