"""A pytest plugin for HypoFuzz runs only (``python -m suite.fuzz`` loads it with -p).

It bridges two gaps between HypoFuzz 25.11.1 and this suite, and touches
nothing in ordinary pytest runs:

1. Database keys.  Hypothesis keys a property's examples by a digest of its
   source and adds the pytest node id only for parametrised tests; HypoFuzz
   adds the node id for every test.  So a failure HypoFuzz saves for a test
   that is not parametrised sits under a key that pytest never reads.  This
   plugin wraps the example database in ``PytestKeys``, which stores
   HypoFuzz's keys for such tests under pytest's, so the next pytest run (a
   pull-request gate reading the shared database) replays what the fuzzer
   found.  Were HypoFuzz to key as Hypothesis does, the map would simply stay
   unused.
2. Hypothesis 6.149 renamed ``slice_comments`` (explanation notes of a shrunk
   example) to ``span_comments``; HypoFuzz 25.11.1 still reads the old name
   when it records a failure and crashes.  An alias is added where it is
   missing.

Its third limitation, that it tears down session-scoped fixtures (this
suite's ``conv2d``, ``device``, ``tolerance``) when it switches between tests
and then fails to re-enter them, is avoided by the campaign, which gives each
HypoFuzz process a single property.
"""

import pytest
from hypothesis import settings
from hypothesis.database import ExampleDatabase
from hypothesis.internal.conjecture import data as _conjecture_data
from hypothesis.internal.reflection import function_digest

DIGEST_LENGTH = 48  # sha384, as Hypothesis's function_digest

for _cls in (_conjecture_data.ConjectureResult, _conjecture_data.ConjectureData):
    if not hasattr(_cls, "slice_comments"):
        _cls.slice_comments = property(lambda self: self.span_comments,
                                       lambda self, value: self.span_comments.update(value))


class PytestKeys(ExampleDatabase):
    """``database`` with HypoFuzz's keys (by prefix) stored under pytest's."""

    def __init__(self, database):
        super().__init__()
        self.database = database
        self.to_pytest = {}
        self.to_hypofuzz = {}

    def add(self, hypofuzz_key, pytest_key):
        self.to_pytest[hypofuzz_key] = pytest_key
        self.to_hypofuzz[pytest_key] = hypofuzz_key

    @staticmethod
    def _map(table, key):
        mapped = table.get(key[:DIGEST_LENGTH])
        return key if mapped is None else mapped + key[DIGEST_LENGTH:]

    def __repr__(self):
        return f"PytestKeys({self.database!r})"

    def __eq__(self, other):
        return isinstance(other, PytestKeys) and self.database == other.database

    __hash__ = None

    def save(self, key, value):
        self.database.save(self._map(self.to_pytest, key), value)

    def fetch(self, key):
        return self.database.fetch(self._map(self.to_pytest, key))

    def delete(self, key, value):
        self.database.delete(self._map(self.to_pytest, key), value)

    def move(self, src, dest, value):
        self.database.move(self._map(self.to_pytest, src), self._map(self.to_pytest, dest), value)

    def _start_listening(self):
        self.database.add_listener(self._relay)

    def _stop_listening(self):
        self.database.remove_listener(self._relay)

    def _relay(self, event):
        kind, (key, value) = event
        self._broadcast_change((kind, (self._map(self.to_hypofuzz, key), value)))


@pytest.hookimpl(trylast=True)
def pytest_sessionstart(session):
    """After configuration (--example-db has set the database), before the test
    modules are imported (their settings take the database they see then)."""
    database = settings.default.database
    if database is not None and not isinstance(database, PytestKeys):
        name = settings.get_current_profile_name()
        settings.register_profile(name, parent=settings.get_profile(name),
                                  database=PytestKeys(database))
        settings.load_profile(name)


def pytest_collection_modifyitems(items):
    """Map each non-parametrised property's HypoFuzz key to its pytest key.

    Runs before HypoFuzz's own collection hook (pytest_collection_finish)
    reads the keys."""
    database = settings.default.database
    if not isinstance(database, PytestKeys):
        return
    for item in items:
        handle = getattr(getattr(item, "obj", None), "hypothesis", None)
        if handle is None or hasattr(item, "callspec"):
            continue
        inner = handle.inner_test
        # A process that collected before (HypoFuzz's worker, forked from its
        # hub) still carries HypoFuzz's salt on the function: set it aside.
        earlier = inner.__dict__.pop("_hypothesis_internal_add_digest", None)
        pytest_key = function_digest(inner)
        inner._hypothesis_internal_add_digest = item.nodeid.encode()
        database.add(function_digest(inner), pytest_key)
        if earlier is None:
            del inner._hypothesis_internal_add_digest
        else:
            inner._hypothesis_internal_add_digest = earlier
