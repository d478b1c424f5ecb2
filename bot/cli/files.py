"""The files the commands write with ``--output``: the format a name says (``choose_format``),
and a file written whole or not at all (``Output``, ``writing``)."""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path

from bot.cli.shared import CliError

__all__ = ["NAMED_FORMATS", "OTHER_FORMATS", "SUFFIX_OF", "Output", "choose_format", "writing"]

# what a file's name says it holds; a name not listed here says nothing
NAMED_FORMATS = {".xlsx": "xlsx", ".csv": "csv", ".json": "json", ".txt": "text", ".tsv": "text"}
SUFFIX_OF = {"xlsx": ".xlsx", "csv": ".csv", "json": ".json", "text": ".txt"}
# names of files that hold something none of the commands writes: refused, never filled with text
OTHER_FORMATS = frozenset(
    {".pdf", ".doc", ".docx", ".xls", ".ods", ".odt", ".html", ".htm", ".png", ".jpg", ".zip"}
)


def choose_format(
    asked: str | None, output: Path | None, offered: Sequence[str], default: str
) -> str:
    """The format asked for, or the one the file's name says, or ``default``; a name that
    says another format than the one asked for is refused rather than written wrongly."""
    named = NAMED_FORMATS.get(output.suffix.lower()) if output is not None else None
    if output is not None and output.suffix.lower() in OTHER_FORMATS:
        kinds = " or ".join(SUFFIX_OF[f] for f in offered)
        raise CliError(f"--output {output}: this command writes {kinds} files")
    if asked is None:
        if named is None:
            return default
        if named in offered:
            return named
        kinds = " or ".join(SUFFIX_OF[f] for f in offered)
        raise CliError(f"--output {output}: this command writes {kinds} files")
    if named is not None and named != asked:
        instead = f" or use --format {named}" if named in offered else ""
        raise CliError(
            f"--format {asked} does not match the file name {output}: "
            f"end it with {SUFFIX_OF[asked]}{instead}"
        )
    return asked


class Output:
    """A file written whole or not at all. Checked before any work is done (the folder is
    there, the name is not a folder, a file can be made there); written under a temporary
    name beside it and renamed over it only once complete (``os.replace``: atomic within a
    folder, https://docs.python.org/3/library/os.html#os.replace), so a failure leaves no
    half-written file and an older file of that name intact."""

    def __init__(self, target: Path) -> None:
        self.target = target
        folder = target.parent
        if target.is_dir():
            raise CliError(f"--output {target} is a folder; give a file name in it")
        if not folder.exists():
            raise CliError(f"--output {target}: the folder {folder} does not exist")
        if not folder.is_dir():
            raise CliError(f"--output {target}: {folder} is not a folder")
        try:
            handle, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=folder)
        except OSError as exc:
            raise CliError(f"cannot write {target}: {exc.strerror or exc}") from None
        os.close(handle)
        self.part: Path | None = Path(name)

    def commit(self) -> None:
        """The file complete: in place, with the permissions a new file gets (or the ones the
        file it replaces had)."""
        assert self.part is not None
        try:
            if self.target.exists():
                mode = stat.S_IMODE(self.target.stat().st_mode)
            else:
                umask = os.umask(0)
                os.umask(umask)
                mode = 0o666 & ~umask
            self.part.chmod(mode)
            os.replace(self.part, self.target)
        except OSError as exc:
            raise CliError(f"cannot write {self.target}: {exc.strerror or exc}") from None
        self.part = None

    def discard(self) -> None:
        if self.part is not None:
            self.part.unlink(missing_ok=True)
            self.part = None


@contextlib.contextmanager
def writing(output: Output) -> Iterator[Path]:
    """The temporary file to fill; in place once the block completes. A failure to write (a
    full disk) is one line, and the temporary file goes (``Output.discard``)."""
    from xlsxwriter.exceptions import XlsxFileError

    assert output.part is not None
    try:
        yield output.part
    except (OSError, XlsxFileError) as exc:
        reason = (exc.strerror or str(exc)) if isinstance(exc, OSError) else str(exc)
        raise CliError(f"cannot write {output.target}: {reason}") from None
    output.commit()
