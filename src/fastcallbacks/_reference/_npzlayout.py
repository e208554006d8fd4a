"""Zip records and position state of the reference streaming `.npz` writer.

The encoders of `fastcallbacks._ziprecords`' records, with what this
writer adds: `force_zip64` (zip64 records even where they are not needed),
an alignment extra field on stored members only, and end records that stay
zip64 once their offset needs it (`live_end`). No I/O: the writer
(`fastcallbacks._reference.npzwriter`) does the writes. The compiled twin is
`cyext/fastcallbacks/_core/_npzrecords.pxi` and `_npzlayout.pxi`.
"""

from .. import _npzformat
from .. import _ziprecords as zr

# Unlike `_ziprecords.EXTERNAL_ATTR`, the file type too: a regular file.
EXTERNAL_ATTR = 0o100600 << 16       # regular file, rw-------


class Layout:
    """Zip record encoders and the writer's position state (no I/O)."""

    def __init__(self, force_zip64):
        self.force = force_zip64
        self.data_end = 0     # end of the last member
        self.tail = 0         # offset of the central directory (its newest entry)
        self.end_at = 0       # offset of the end records
        self.entries = []     # CD entries in add order (the file has them reversed)
        self.cd_len = 0
        self.count = 0
        self.file_size = 0

    def local_header(self, name, method, crc, csize, usize, offset):
        align = _npzformat.ALIGN if method == zr.STORED else 0
        return zr.local_header(name, method, crc, csize, usize, offset, align, self.force)

    def central_entry(self, name, method, crc, csize, usize, offset):
        return zr.central_entry(name, method, crc, csize, usize, offset, self.force,
                                EXTERNAL_ATTR)

    def end_records(self, count, cd_size, cd_offset, comment=b"", zip64=False):
        return zr.end_records(count, cd_size, cd_offset, comment, zip64 or self.force)

    def live_end(self, count, cd_size, cd_offset, end_at, comment=b""):
        """End records at `end_at`: zip64 ones whenever `end_at` needs them,
        so that records rewritten in place never shrink (a shorter record
        would leave the longer one's signature after it)."""
        return self.end_records(count, cd_size, cd_offset, comment,
                                end_at > _npzformat.ZIP64_LIMIT)

    def end_page(self, end_at):
        """The empty archive's end records and zeros up to the page end."""
        end = self.live_end(0, 0, end_at, end_at)
        return end + bytes(_npzformat.page_end(end_at) - end_at - len(end))

    def live_cd(self):
        """The CD as it is in the file: newest entry first."""
        return b"".join(reversed(self.entries))
