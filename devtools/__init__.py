"""Tools for tests, end-to-end runs and the benchmark; not part of the served product."""
