from tests.api.conftest import call  # noqa: F401  (the API tests' fixtures: call, token)
from tests.api.conftest import token  # noqa: F401
