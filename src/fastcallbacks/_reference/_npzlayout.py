"""Zip records and position state of the reference streaming `.npz` writer.

The encoders of `fastcallbacks._ziprecords`' records, with what this
writer adds: `force_zip64` (zip64 records even where they are not needed),
an alignment extra field on stored members only, and end records that stay
zip64 once their offset needs it (`live_end`). No I/O: the writer
(`fastcallbacks._reference.npzwriter`) does the writes. The compiled twin is
`cyext/fastcallbacks/_core/_npzrecords.pxi` and `_npzlayout.pxi`.
"""

import struct

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
        zip64 = self.force or csize > _npzformat.ZIP64_LIMIT or usize > _npzformat.ZIP64_LIMIT
        extra = b""
        if zip64:
            extra = struct.pack("<HHQQ", 1, 16, usize, csize)
            csize = usize = 0xFFFFFFFF
        if method == 0:
            pad = -(offset + 30 + len(name) + len(extra) + 6) % _npzformat.ALIGN
            extra += struct.pack("<HHH", 0xA11E, 2 + pad, _npzformat.ALIGN) + bytes(pad)
        flags = 0x800 if not name.isascii() else 0
        return zr.LOCAL.pack(zr.LOCAL_SIG, 45 if zip64 else 20, flags, method, zr.DOS_TIME,
                           zr.DOS_DATE, crc, csize, usize, len(name), len(extra)) + name + extra

    def central_entry(self, name, method, crc, csize, usize, offset):
        big = [self.force or usize > _npzformat.ZIP64_LIMIT, self.force or csize > _npzformat.ZIP64_LIMIT,
               self.force or offset > _npzformat.ZIP64_LIMIT]
        values = [usize, csize, offset]
        extra = b""
        if any(big):
            fields = [v for v, b in zip(values, big) if b]
            extra = struct.pack(f"<HH{len(fields)}Q", 1, 8 * len(fields), *fields)
            usize, csize, offset = (0xFFFFFFFF if b else v for v, b in zip(values, big))
        version = 45 if extra else 20
        flags = 0x800 if not name.isascii() else 0
        return zr.CENTRAL.pack(zr.CENTRAL_SIG, (3 << 8) | version, version, flags, method,
                             zr.DOS_TIME, zr.DOS_DATE, crc, csize, usize, len(name),
                             len(extra), 0, 0, 0, EXTERNAL_ATTR, offset) + name + extra

    def end_records(self, count, cd_size, cd_offset, comment=b"", zip64=False):
        zip64 = (zip64 or self.force or count >= _npzformat.COUNT_LIMIT
                 or cd_size > _npzformat.ZIP64_LIMIT or cd_offset > _npzformat.ZIP64_LIMIT)
        if not zip64:
            return zr.END.pack(zr.END_SIG, 0, 0, count, count, cd_size, cd_offset,
                             len(comment)) + comment
        end64_at = cd_offset + cd_size
        return (zr.END64.pack(zr.END64_SIG, 44, 45, 45, 0, 0, count, count, cd_size, cd_offset)
                + zr.LOCATOR.pack(zr.LOCATOR_SIG, 0, end64_at, 1)
                + zr.END.pack(zr.END_SIG, 0, 0, 0xFFFF, 0xFFFF, 0xFFFFFFFF, 0xFFFFFFFF,
                            len(comment)) + comment)

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
