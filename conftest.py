import os

# Tests use the local defaults unless the caller says otherwise (CI sets DATABASE_URL etc.).
os.environ.setdefault("DEBUG", "1")
# Tests build search indexes in the test's own thread, against the test database.
os.environ.setdefault("SEARCH_WARM_UP", "0")
