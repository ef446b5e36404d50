// Recommendations find the owners of a model: index vehicles by model.
CREATE INDEX vehicle_model IF NOT EXISTS FOR (v:Vehicle) ON (v.model);
