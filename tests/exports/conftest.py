"""Export test support: the fixtures of the API, sales and order tests, for exporting from every context."""

from tests.api.conftest import api_org  # noqa: F401
from tests.api.conftest import call  # noqa: F401
from tests.api.conftest import token  # noqa: F401
from tests.sales.order_support import staff  # noqa: F401
from tests.sales.quote_support import customers  # noqa: F401
from tests.sales.quote_support import products  # noqa: F401
from tests.sales.quote_support import quote_process  # noqa: F401
