from tests.api.conftest import call  # noqa: F401  (the API tests' fixtures: call, token)
from tests.api.conftest import token  # noqa: F401
from tests.sales.order_support import staff  # noqa: F401,E402  (the order tests' back office)
from tests.sales.quote_support import customers  # noqa: F401  (the quote tests' fixtures)
from tests.sales.quote_support import products  # noqa: F401
from tests.sales.quote_support import quote_process  # noqa: F401
