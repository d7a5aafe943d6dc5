"""The embedded ClickHouse HTTP server, by responsibility; run through ``chserver.py``."""
