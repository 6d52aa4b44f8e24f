"""Load benchmark: the product under gunicorn, whole activations over HTTP, and the framework's floor.

Run it with `make bench` (or `.venv/bin/python -m bench --help`); results go to bench/results/.
"""
