"""Making the Short from files on disk: probe, narration, captions, the ffmpeg graph.

Knows files in a work folder only, never S3 or the database (services/processing.py
fetches the inputs and stores the results).
"""
