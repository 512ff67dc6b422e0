"""Which example database Hypothesis keeps failures in: ``--example-db=SPEC[,SPEC...]``.

``local``, ``dir:PATH``, ``redis://HOST:PORT/DB`` (a fleet; the ``redis``
extra), ``github:OWNER/REPO[/ARTIFACT]`` (the nightly job's artifact, always
read-only) or ``none``; several, comma-separated, are read and written
together.  Derandomised profiles (``ci``, ``selfcheck``) only read, so a gate
run never changes what other runs see; ``dev`` and ``nightly`` also write.
Hypothesis's ``reuse`` phase replays a database's entries even in a
derandomised run, so a gate first retries what the database holds, then runs
its usual examples.  A spec that does not parse, a server that does not answer
or an artifact that cannot be fetched is a one-line usage error before any
test runs.  Who benefits from which: docs/gate.md.
"""

import re
import warnings

import pytest
from hypothesis import settings
from hypothesis.database import (DirectoryBasedExampleDatabase, GitHubArtifactDatabase,
                                 MultiplexedDatabase, ReadOnlyDatabase)
from hypothesis.errors import HypothesisSideeffectWarning, HypothesisWarning

LOCAL_DIRECTORY = ".hypothesis/examples"
GITHUB_ARTIFACT = "hypothesis-example-db"
REDIS_KEY_PREFIX = b"conv2d-conformance:"
REDIS_SCHEMES = ("redis://", "rediss://", "unix://")
FORMS = ("local", "dir:PATH", "redis://HOST:PORT/DB", "github:OWNER/REPO[/ARTIFACT]", "none")
_GITHUB = re.compile(r"github:([A-Za-z0-9][A-Za-z0-9-]*)/([A-Za-z0-9._-]+)(?:/([A-Za-z0-9._-]+))?")


class DatabaseSpecError(ValueError):
    """--example-db names no database that can be used."""


def _one(part, check):
    """(database, description, writable) for one comma-separated part of a spec."""
    if part == "local":
        return DirectoryBasedExampleDatabase(LOCAL_DIRECTORY), f"{LOCAL_DIRECTORY} (local)", True
    if part.startswith("dir:") and part[4:]:
        return DirectoryBasedExampleDatabase(part[4:]), part[4:], True
    if part.startswith(REDIS_SCHEMES):
        return _redis(part, check), part, True
    if part.startswith("github:"):
        return _github(part, check)
    raise DatabaseSpecError(f"{part!r} is none of {', '.join(FORMS)}")


def _redis(url, check):
    try:
        import redis
        from hypothesis.extra.redis import RedisExampleDatabase
    except ImportError:
        raise DatabaseSpecError(
            f"{url!r} needs the redis package: pip install -e \".[redis]\"") from None
    try:
        client = redis.Redis.from_url(url, socket_connect_timeout=3, socket_timeout=30)
    except ValueError as error:
        raise DatabaseSpecError(f"{url!r} is not a Redis URL ({error})") from None
    if check:
        try:
            client.ping()
        except redis.RedisError as error:
            raise DatabaseSpecError(f"{url!r}: the Redis server does not answer "
                                    f"({type(error).__name__}: {error})") from None
    return RedisExampleDatabase(client, key_prefix=REDIS_KEY_PREFIX)


def _github(part, check):
    match = _GITHUB.fullmatch(part)
    if match is None:
        raise DatabaseSpecError(f"{part!r}: expected github:OWNER/REPO or "
                                f"github:OWNER/REPO/ARTIFACT")
    owner, repo, artifact = match[1], match[2], match[3] or GITHUB_ARTIFACT
    description = f"artifact {artifact!r} of github.com/{owner}/{repo}"
    with warnings.catch_warnings(record=True) as caught:
        # Hypothesis warns when a plugin touches its storage this early: here
        # that is the point, so that a run fails before its first test.
        warnings.simplefilter("ignore", HypothesisSideeffectWarning)
        warnings.simplefilter("always", HypothesisWarning)
        database = GitHubArtifactDatabase(owner, repo, artifact_name=artifact)
        if check:
            # The first read downloads the artifact (or finds it cached under
            # .hypothesis/github-artifacts/, for a day); Hypothesis reports
            # trouble as warnings and then behaves as an empty database.
            list(database.fetch(b"conv2d-conformance: probe"))
    if check:
        problems = [str(w.message).strip() for w in caught
                    if issubclass(w.category, HypothesisWarning)
                    and not issubclass(w.category, HypothesisSideeffectWarning)
                    and "Disabling database" not in str(w.message)
                    and "expired artifact" not in str(w.message)]
        if problems:
            raise DatabaseSpecError(f"{part!r}: {problems[0]}")
        if any("Disabling database" in str(w.message) for w in caught):
            description += " (none found: empty)"
    return database, description, False


def open_database(spec, *, read_only, check=True):
    """(database or None, one-line description) for ``spec``.

    ``read_only`` wraps every part in ``ReadOnlyDatabase``; GitHub artifacts
    are read-only whatever it says.  ``check`` connects now, so that an
    unreachable server is an error here rather than a warning mid-run.
    """
    parts = [part.strip() for part in spec.split(",")]
    if not spec.strip() or any(not part for part in parts):
        raise DatabaseSpecError(f"{spec!r}: expected one of {', '.join(FORMS)}, "
                                f"or several joined by commas")
    if parts == ["none"]:
        return None, "none"
    if "none" in parts:
        raise DatabaseSpecError(f"{spec!r}: 'none' cannot be combined with a database")
    opened = []
    for part in parts:
        database, description, writable = _one(part, check)
        if read_only or not writable:
            database, description = ReadOnlyDatabase(database), description + ", read-only"
        opened.append((database, description))
    if len(opened) == 1:
        return opened[0]
    return (MultiplexedDatabase(*(database for database, _ in opened)),
            " + ".join(description for _, description in opened))


def describe_current():
    """A one-line description of the database the current profile uses."""
    database = settings.default.database
    return "none" if database is None else repr(database)


# --- the pytest plugin -------------------------------------------------------------


def pytest_addoption(parser):
    group = parser.getgroup("conv2d conformance")
    group.addoption("--example-db", default=None, metavar="SPEC",
                    help="Hypothesis's example database: local (.hypothesis/examples), "
                         "dir:PATH, redis://HOST:PORT/DB, github:OWNER/REPO[/ARTIFACT] "
                         "(read-only), none, or several joined by commas.  Derandomised "
                         "profiles (ci) only read it, randomised ones (dev, nightly) also "
                         "write.  Default: the profile's own (local for dev and nightly, "
                         "none for ci)")


@pytest.hookimpl(trylast=True)
def pytest_configure(config):
    """Runs after Hypothesis's plugin has loaded the profile: gives it the database."""
    spec = config.getoption("example_db", None)
    if spec is None:
        config.example_db_description = None
        return
    name = settings.get_current_profile_name()
    profile = settings.get_profile(name)
    # xdist workers open the same database without checking it again: the
    # controller has already done so (and, for GitHub, downloaded the artifact).
    check = not hasattr(config, "workerinput")
    try:
        database, description = open_database(spec, read_only=profile.derandomize, check=check)
    except DatabaseSpecError as error:
        raise pytest.UsageError(f"--example-db={error}") from None
    settings.register_profile(name, parent=profile, database=database)
    settings.load_profile(name)
    config.example_db_description = description


def pytest_report_header(config):
    description = getattr(config, "example_db_description", None)
    return [f"example database: {description or describe_current()}"]

