"""moto's server with every request serialised.

moto's DynamoDB backend is not thread-safe: a transaction snapshots the tables with deepcopy and
restores the snapshot on cancellation, so two requests at once can fail with "dictionary changed
size during iteration" or, worse, roll back another request's committed write. DynamoDB itself
evaluates conditions atomically; a global lock around each request gives moto the same semantics
(the concurrency tests then test our code, not moto's races). Usage: moto_server.py HOST PORT
"""

import signal
import sys
import threading

from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from werkzeug.serving import run_simple


def serialised(app):
    lock = threading.Lock()

    def wrapped(environ, start_response):
        with lock:
            # Materialise the body inside the lock: moto builds it while reading the backend.
            return list(app(environ, start_response))

    return wrapped


def main():
    host, port = sys.argv[1], int(sys.argv[2])
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    app = DomainDispatcherApplication(create_backend_app)
    run_simple(host, port, serialised(app), threaded=True, request_handler=MotoRequestHandler)


if __name__ == "__main__":
    main()
