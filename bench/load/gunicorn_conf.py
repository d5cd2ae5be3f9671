"""gunicorn settings for the load test: the app is loaded once in the master, which builds the
code search indexes before forking, so every worker starts warm and shares them (copy on
write) instead of each building its own while the first coders wait."""

preload_app = True


def when_ready(server) -> None:
    from codesets.search import warm_indexes

    warm_indexes()  # closes its database connection: workers must not share the master's
