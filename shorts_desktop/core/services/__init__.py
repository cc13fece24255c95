"""The use cases (upload, promote, share, jobs, cleanup, stats, check) shared by GUI and CLI."""
