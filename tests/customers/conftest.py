"""Customer test support: the API tests' fixtures (api_org, call, token), for the tests that drive an
import both through the pages and through the API."""

from tests.api.conftest import api_org  # noqa: F401
from tests.api.conftest import call  # noqa: F401
from tests.api.conftest import token  # noqa: F401
