"""Sync between partner nodes: serving what a partner lacks, and pulling what we lack."""
