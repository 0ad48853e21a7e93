"""Storage: the schema, the engine, migrations and the record store (SQLAlchemy Core)."""
