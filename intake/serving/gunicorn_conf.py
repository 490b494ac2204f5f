"""gunicorn settings for the Haven intake (production and the compose stack).

    gunicorn -c python:intake.serving.gunicorn_conf

It ships inside the package, so an installed Haven (the image, the demo)
serves with the same settings as a source checkout.
The intake must never learn or log who talks to it: no access log, no
address in any line, no proxy trusted to tell us one. Settings come from
HAVEN_* variables (docs/intake-api.md); a bad one stops the worker with one
line naming it.
"""

import os
from typing import Any

from intake.serving.processes import worker_count as _worker_count

# The app shares its metrics across the workers (intake.serving.processes).
wsgi_app = "intake.serving.wsgi:app_for_workers()"
bind = [os.environ.get("HAVEN_BIND", "127.0.0.1:8080")]

# HAVEN_WORKERS processes (default 1, at most 64), each with HAVEN_THREADS
# threads: the work per request is a SHA-256 and a wait on the broker's
# confirm (a wait on a future, which releases the GIL), so threads go far;
# more processes add CPU for the rest (JSON, HTTP parsing, the proof-of-work check).
# ConfirmedPublisher holds one broker connection per process, owned by its
# one I/O thread, started in the worker on first use and never in the
# master (haven.broker.publisher): request threads hand it each publish
# through add_callback_threadsafe and never touch pika, so more threads add
# waits on confirms, not connections; each worker adds one connection.
# The metrics of every worker are added up on /metrics (intake.metrics).
workers = _worker_count(os.environ)
# gthread, with reads that give up on a silent client (no slowloris).
worker_class = "intake.serving.gunicorn_worker.BoundedReadThreadWorker"
threads = int(os.environ.get("HAVEN_THREADS", "16"))
# A publish answers within HAVEN_PUBLISH_TIMEOUT (5 s by default); a worker
# silent for much longer than that is stuck and is replaced.
timeout = 30
graceful_timeout = 20
# Tor circuits are slow to build: keep an idle connection a little longer
# than the usual 2 s, but not so long that idle clients hold every thread.
keepalive = 5

# Bounded requests: the API's URLs are short and a submission is one JSON
# body (its limit is enforced by the app, from the declared length).
limit_request_line = 2048
limit_request_fields = 50
limit_request_field_size = 8190

# Never log requests. The access log is off, and the logger class has no
# way to write one nor the two request lines gunicorn writes on its own.
accesslog = None
disable_redirect_access_to_syslog = True
errorlog = "-"
# The floor as well: the logger class clamps anything lower (a --log-level
# debug or GUNICORN_CMD_ARGS) to info, since gunicorn's debug lines quote requests.
loglevel = "info"
capture_output = False
logger_class = "intake.serving.gunicorn_logging.RequestBlindLogger"

# No proxy is trusted to name a client: the intake never uses an address,
# and X-Forwarded-* from the internet must not become one.
forwarded_allow_ips = ""
proxy_allow_ips = ""

# No runtime control socket: nobody outside the container reconfigures it.
control_socket_disable = True
proc_name = "haven-intake"
# The app is built in the master, before any worker: a bad setting or
# directory stops gunicorn at once with its one-line reason (exit 1),
# instead of workers failing and being restarted for ever. Every worker
# inherits the built app; what must not cross a fork is opened in the worker
# on first use: the publisher's broker connection and I/O thread, the store's
# connections, the metrics files (each process writes its own).
preload_app = True


def pre_request(worker: object, req: object) -> None:
    # gunicorn's default hook logs every method and path at debug level.
    return


def when_ready(server: Any) -> None:
    # HAVEN_OPS_BIND is bound once, here in the master before any fork, like
    # `bind`; a port in use stops the server with one line (exit 3).
    # Imported here: every name at module level would be read as a gunicorn setting.
    from intake.serving.ops_server import bind_for_workers  # noqa: PLC0415

    bind_for_workers(server.app.wsgi())


def post_worker_init(worker: Any) -> None:
    # /healthz, /readyz and /metrics on HAVEN_OPS_BIND, served by every
    # worker on the socket the master bound (whichever takes a connection
    # answers; /metrics is the sum over all of them); never on `bind`, the
    # public listener, which answers 404 for them.
    from intake.serving.ops_server import serve_in_worker  # noqa: PLC0415

    serve_in_worker(worker.wsgi)


def child_exit(server: Any, worker: Any) -> None:
    # In the master, once a worker is gone (stopped, crashed, killed): its
    # counters stay in the sum, its live gauges leave it.
    from intake.serving.processes import forget_worker  # noqa: PLC0415

    forget_worker(worker.pid)


def on_exit(server: Any) -> None:
    from intake.serving.processes import remove_shared_metrics  # noqa: PLC0415

    remove_shared_metrics()
