"""The transfer engine: queued, threaded, multipart, resumable, verified."""
