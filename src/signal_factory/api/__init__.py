"""HTTP API: a FastAPI app over `ApiService` (build it with `create_app`; nothing runs at import time)."""
