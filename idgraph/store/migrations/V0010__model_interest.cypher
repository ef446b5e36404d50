// Interest in a model without a VIN (a lead, a test drive) points at one node per model.
CREATE CONSTRAINT model_name IF NOT EXISTS FOR (m:Model) REQUIRE m.model IS UNIQUE;
