"""`make bench`: sync, publish and query measured against this machine's own limits."""
