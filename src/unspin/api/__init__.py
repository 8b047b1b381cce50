"""The REST API (JSON), mounted under /api by the web app."""
