"""Where upload bytes live: an S3 bucket, or the local library folder with the same layout."""
