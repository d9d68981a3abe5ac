"""Child process of a large roster import: `python -m verification.roster.worker`.

Reads the job (file, expected checksum, vault, today, batch size) pickled on stdin and
writes length-prefixed pickled frames on stdout: each `Batch`, then `DONE` or the error.
A module of its own so that `Batch` pickles under its real name, not as `__main__.Batch`.
"""

from __future__ import annotations

import pickle
import sys
from typing import BinaryIO

from verification.roster.batches import DONE, FRAME_HEADER, BatchBuilder
from verification.roster.reader import RosterFileError, RosterSource


def _send(out: BinaryIO, item: object) -> None:
    data = pickle.dumps(item, protocol=pickle.HIGHEST_PROTOCOL)
    out.write(FRAME_HEADER.pack(len(data)))
    out.write(data)
    out.flush()


def main() -> None:
    out = sys.stdout.buffer
    try:
        path, expected_sha256, vault, today, batch_size = pickle.load(sys.stdin.buffer)
        source = RosterSource(path)
        with source.open() as reader:
            if reader.file_sha256 != expected_sha256:
                # The file changed after the parent opened it: importing it would record
                # the wrong checksum in roster_imports.
                raise RosterFileError("unreadable_file", detail="the file changed during the import")
            builder = BatchBuilder.for_reader(reader, source, vault, today)
            while (batch := builder.next_batch(batch_size)).rows_read:
                _send(out, batch)
        _send(out, DONE)
    except BrokenPipeError:  # the parent stopped reading: it has given up on this import
        return
    except Exception as error:
        # Only the type of an unexpected error: its text might quote a cell of the roster.
        _send(out, error if isinstance(error, RosterFileError) else RuntimeError(type(error).__name__))


if __name__ == "__main__":
    main()
