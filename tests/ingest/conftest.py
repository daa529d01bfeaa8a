"""The API server fixtures of tests/api, for the OpenLineage HTTP tests."""

from tests.api.conftest import api_server_token, scenario1_db  # noqa: F401  (fixtures re-exported)
