import os

# Tests use the local defaults unless the caller says otherwise (CI sets DATABASE_URL etc.).
os.environ.setdefault("DEBUG", "1")
