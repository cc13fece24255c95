"""YouTube: sign-in, resumable upload; no Qt."""
