"""Reading a kernel's declared domain (``--conv2d-domain=FILE.toml``).

The domain itself, and what it means, is strategies/domain.py; this reads the
file with one-line errors, so a bad file is a usage error naming the key.
"""

from pathlib import Path

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

from strategies.domain import ALL, Domain, DomainError


def read(path):
    """The ``Domain`` a TOML file declares (``ALL`` for None); DomainError names the problem."""
    if path is None:
        return ALL
    try:
        table = tomllib.loads(Path(path).read_text())
    except OSError as error:
        raise DomainError(f"--conv2d-domain={path}: {error.strerror}") from None
    except tomllib.TOMLDecodeError as error:
        raise DomainError(f"--conv2d-domain={path}: not TOML ({error})") from None
    try:
        return Domain.from_table(table)
    except DomainError as error:
        raise DomainError(f"--conv2d-domain={path}: {error}") from None
