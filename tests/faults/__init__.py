"""A Jepsen-style check of yibao under faults: a served city, a mixed load of retrying clients,
worker kills, PostgreSQL restarts and serve restarts, then a checker over the database.

Shared by the short run in the test suite (tests/e2e/test_faults.py) and the long one
(bench/faults.py).
"""
