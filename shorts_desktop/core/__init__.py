"""Everything that is not Qt: settings, database, storage, transfers and use cases."""
