"""The only code that speaks Cypher."""
