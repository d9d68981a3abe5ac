"""Files the product keeps are readable by its owner only: 0600 files, 0700 folders.

The console command sets the process umask to 0o077, so whatever it creates is private from
the start (the SQLite database, its -wal and -shm, the secrets file, the demo's roster). At
every start `secure_storage` also creates VAR_DIR 0700 and the SQLite file 0600 before the
first connection (SQLite gives -wal and -shm the database file's mode), and tightens what an
older release left looser, noting each change in the log (the path only).
"""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

logger = logging.getLogger(__name__)

PRIVATE_UMASK = 0o077
# Sub-folders of VAR_DIR that are the product's own: tightened with everything inside them.
PRODUCT_FOLDERS = ("demo", "knowledge_drafts")
SQLITE_COMPANIONS = ("-wal", "-shm", "-journal")


def private_umask() -> int:
    """Set the process umask to 0o077; returns the previous one."""
    return os.umask(PRIVATE_UMASK)


def secure_storage(var_dir: Path, database_url: str) -> None:
    """VAR_DIR (0700) and its files (0600), and the SQLite database files wherever they are."""
    var_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    tighten(var_dir)
    for entry in var_dir.iterdir():
        tighten(entry)
        if entry.name in PRODUCT_FOLDERS and entry.is_dir() and not entry.is_symlink():
            for folder, folders, files in os.walk(entry):
                for name in folders + files:
                    tighten(Path(folder) / name)
    database = sqlite_file(database_url)
    if database is not None:
        database.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        try:  # an empty file is an empty SQLite database: created 0600, whatever the umask
            os.close(os.open(database, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        except FileExistsError:
            pass
        for path in (database, *(Path(f"{database}{suffix}") for suffix in SQLITE_COMPANIONS)):
            tighten(path)


def sqlite_file(database_url: str) -> Path | None:
    from sqlalchemy.engine import make_url  # here: `pension-bot` imports this module for every command

    url = make_url(database_url)
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        return None
    if url.database.startswith("file:"):  # a URI filename: left as given
        return None
    return Path(url.database)


def tighten(path: Path) -> None:
    """Take group and other permissions away from `path` (never following a symlink)."""
    try:
        status = path.lstat()
    except FileNotFoundError:
        return
    if stat.S_ISLNK(status.st_mode) or not (stat.S_ISREG(status.st_mode) or stat.S_ISDIR(status.st_mode)):
        return
    mode = stat.S_IMODE(status.st_mode)
    if mode & 0o077 == 0:
        return
    private = mode & 0o700
    try:
        os.chmod(path, private)
    except PermissionError:
        logger.warning("cannot tighten the mode of %s (%04o): not its owner", path, mode)
        return
    logger.warning("tightened the mode of %s from %04o to %04o", path, mode, private)
