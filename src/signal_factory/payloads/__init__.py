"""Where payload copies too large to ride inline in evidence are kept: local files or S3 (`payload_ref`)."""
