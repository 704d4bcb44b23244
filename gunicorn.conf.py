"""gunicorn's settings, read from the working directory: `gunicorn -w 4 -b 0.0.0.0:8000 'run:app'` from the
repository root (docs/operators.md). Command-line options win over these.

Garbage collection: a worker keeps many long-lived objects (the app, SQLAlchemy's mappers and compiled
statement cache, the parsed process specs), and every collection of the oldest generation walks them all
again. `gc.freeze()` moves what exists at that moment out of the collector's sight: once after the app
is loaded, and once more after the first requests have filled the caches. Measured in
docs/benchmarks.md ("Orders throughput, fourth pass"): 4.1 → 1.7 ms of collection per order lifecycle.
"""

import gc

wsgi_app = "run:app"

# Requests after which a worker's caches are warm (statement cache, specs, translations).
WARM_AFTER_REQUESTS = 200


def post_worker_init(worker):  # noqa: ANN001, ANN201 — gunicorn's hook signature
    gc.collect()
    gc.freeze()


def post_request(worker, req, environ, resp):  # noqa: ANN001, ANN201, ARG001
    worker.crm_requests = getattr(worker, "crm_requests", 0) + 1
    if worker.crm_requests == WARM_AFTER_REQUESTS:
        gc.collect()
        gc.freeze()
