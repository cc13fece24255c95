"""The local SQLite database: models, connection and versioned schema migrations."""
