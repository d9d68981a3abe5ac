"""Child process of a large import (a roster, a feed): `python -m verification.roster.worker`.

Reads the job pickled on stdin (the file, its expected checksum, the batch size, and the
function that makes a batch builder for the opened file, with its arguments) and writes
length-prefixed pickled frames on stdout: each batch, then `DONE` or the error. A module of
its own so that batches pickle under their real names, not as `__main__.Batch`.
"""

from __future__ import annotations

import pickle
import sys
from typing import BinaryIO

from verification.roster.batches import DONE, FRAME_HEADER
from verification.roster.reader import RosterFileError


def _send(out: BinaryIO, item: object) -> None:
    data = pickle.dumps(item, protocol=pickle.HIGHEST_PROTOCOL)
    out.write(FRAME_HEADER.pack(len(data)))
    out.write(data)
    out.flush()


def main() -> None:
    out = sys.stdout.buffer
    try:
        source, expected_sha256, batch_size, make_builder, arguments = pickle.load(sys.stdin.buffer)
        with source.open() as reader:
            if reader.file_sha256 != expected_sha256:
                # The file changed after the parent opened it: importing it would record
                # the wrong checksum in roster_imports.
                raise RosterFileError("unreadable_file", detail="the file changed during the import")
            builder = make_builder(reader, *arguments)
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
