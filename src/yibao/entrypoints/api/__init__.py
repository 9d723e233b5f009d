"""The REST API (`/api/v1`): FastAPI over the same service functions the CLI calls."""
