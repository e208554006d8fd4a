"""Zip record encoders and decoders (PKWARE APPNOTE 6.3.x), no I/O.

Used by the readers and by `npz.recover`, which read any zip (not only the
files `NpzWriter` writes), so every decoder checks its bounds against the
buffer it is given and returns None for a record that is cut or malformed;
none of them raises on hostile bytes.
"""

import struct

LOCAL_SIG = 0x04034B50
CENTRAL_SIG = 0x02014B50
END_SIG = 0x06054B50
END64_SIG = 0x06064B50
LOCATOR_SIG = 0x07064B50
DESCRIPTOR_SIG = 0x08074B50

LOCAL = struct.Struct("<IHHHHHIIIHH")             # 30 bytes
CENTRAL = struct.Struct("<IHHHHHHIIIHHHHHII")     # 46 bytes
END = struct.Struct("<IHHHHIIH")                  # 22 bytes
END64 = struct.Struct("<IQHHIIQQQQ")              # 56 bytes
LOCATOR = struct.Struct("<IIQI")                  # 20 bytes

FLAG_ENCRYPTED = 0x1
FLAG_DESCRIPTOR = 0x8
FLAG_UTF8 = 0x800
STORED, DEFLATED = 0, 8
ALIGN_EXTRA_ID = 0xA11E     # APPNOTE "data stream alignment" extra field
ZIP64_EXTRA_ID = 0x0001
ZIP64_LIMIT = 0x7FFFFFFF    # like CPython's zipfile: beyond this, zip64 fields
COUNT_LIMIT = 0xFFFF
DOS_TIME, DOS_DATE = 0, (0 << 9) | (1 << 5) | 1      # 1980-01-01 00:00
EXTERNAL_ATTR = 0o600 << 16


class LocalHeader:
    """A decoded local file header (`size` is its length with name and extra)."""

    __slots__ = ("offset", "flags", "method", "crc", "csize", "usize", "raw_name",
                 "extra", "size")

    def __init__(self, offset, flags, method, crc, csize, usize, raw_name, extra):
        self.offset, self.flags, self.method, self.crc = offset, flags, method, crc
        self.csize, self.usize, self.raw_name, self.extra = csize, usize, raw_name, extra
        self.size = LOCAL.size + len(raw_name) + len(extra)

    @property
    def data_start(self):
        return self.offset + self.size


class CentralEntry:
    """A decoded central-directory entry."""

    __slots__ = ("offset", "flags", "method", "crc", "csize", "usize", "raw_name",
                 "local_offset", "size")

    def __init__(self, offset, flags, method, crc, csize, usize, raw_name, local_offset,
                 size):
        self.offset, self.flags, self.method, self.crc = offset, flags, method, crc
        self.csize, self.usize, self.raw_name = csize, usize, raw_name
        self.local_offset, self.size = local_offset, size


def zip64_fields(extra, wanted):
    """The 64-bit values of the zip64 extra field, for the fields whose
    32-bit value was 0xFFFFFFFF (`wanted`: booleans for usize, csize,
    offset, in that order). Returns a list with None where absent."""
    out = [None] * len(wanted)
    pos = 0
    while pos + 4 <= len(extra):
        tag, size = struct.unpack_from("<HH", extra, pos)
        if tag == ZIP64_EXTRA_ID:
            fields = extra[pos + 4:pos + 4 + size]
            k = 0
            for i, w in enumerate(wanted):
                if w and k + 8 <= len(fields):
                    out[i] = struct.unpack_from("<Q", fields, k)[0]
                    k += 8
            break
        pos += 4 + size
    return out


def decode_name(raw_name, flags):
    """The member name as zipfile decodes it (UTF-8 when flagged, else cp437);
    None if it is not valid UTF-8."""
    if flags & FLAG_UTF8:
        try:
            return raw_name.decode("utf-8")
        except UnicodeDecodeError:
            return None
    return raw_name.decode("cp437")


def local_header_at(buf, pos):
    """The `LocalHeader` at `pos` of `buf`, or None."""
    if pos < 0 or pos + LOCAL.size > len(buf):
        return None
    (sig, _ver, flags, method, _t, _d, crc, csize, usize, nlen,
     elen) = LOCAL.unpack_from(buf, pos)
    if sig != LOCAL_SIG:
        return None
    name_at = pos + LOCAL.size
    if name_at + nlen + elen > len(buf):
        return None
    raw_name = bytes(buf[name_at:name_at + nlen])
    extra = bytes(buf[name_at + nlen:name_at + nlen + elen])
    big_u, big_c = usize == 0xFFFFFFFF, csize == 0xFFFFFFFF
    if big_u or big_c:
        u64, c64 = zip64_fields(extra, [big_u, big_c])
        usize = u64 if big_u else usize
        csize = c64 if big_c else csize
    return LocalHeader(pos, flags, method, crc, csize, usize, raw_name, extra)


def central_entry_at(buf, pos):
    """The `CentralEntry` at `pos` of `buf`, or None."""
    if pos < 0 or pos + CENTRAL.size > len(buf):
        return None
    (sig, _vm, _vn, flags, method, _t, _d, crc, csize, usize, nlen, elen, clen,
     _disk, _iattr, _eattr, offset) = CENTRAL.unpack_from(buf, pos)
    if sig != CENTRAL_SIG:
        return None
    name_at = pos + CENTRAL.size
    end = name_at + nlen + elen + clen
    if end > len(buf):
        return None
    raw_name = bytes(buf[name_at:name_at + nlen])
    extra = bytes(buf[name_at + nlen:name_at + nlen + elen])
    wanted = [usize == 0xFFFFFFFF, csize == 0xFFFFFFFF, offset == 0xFFFFFFFF]
    if any(wanted):
        u64, c64, o64 = zip64_fields(extra, wanted)
        usize = u64 if wanted[0] else usize
        csize = c64 if wanted[1] else csize
        offset = o64 if wanted[2] else offset
    if usize is None or csize is None or offset is None:
        return None
    return CentralEntry(pos, flags, method, crc, csize, usize, raw_name, offset, end - pos)


def descriptors_at(buf, pos, zip64):
    """The possible `(crc, csize, usize)` of a data descriptor at `pos`: with
    its optional signature and without. Empty if none fits in `buf`."""
    fmt = struct.Struct("<IQQ" if zip64 else "<III")
    starts = [pos]
    if pos + 4 <= len(buf) and struct.unpack_from("<I", buf, pos)[0] == DESCRIPTOR_SIG:
        starts.insert(0, pos + 4)
    return [fmt.unpack_from(buf, s) for s in starts if 0 <= s and s + fmt.size <= len(buf)]


# -- encoders -----------------------------------------------------------------

def local_header(raw_name, method, crc, csize, usize, offset, align=0, zip64=False):
    """A local header with real sizes (no data descriptor), zip64 sizes when
    needed (always with `zip64=True`), and, with `align`, an alignment extra
    field that puts the data at a multiple of `align`."""
    zip64 = zip64 or csize > ZIP64_LIMIT or usize > ZIP64_LIMIT
    extra = b""
    if zip64:
        extra = struct.pack("<HHQQ", ZIP64_EXTRA_ID, 16, usize, csize)
        csize = usize = 0xFFFFFFFF
    if align:
        pad = -(offset + LOCAL.size + len(raw_name) + len(extra) + 6) % align
        extra += struct.pack("<HHH", ALIGN_EXTRA_ID, 2 + pad, align) + bytes(pad)
    flags = 0 if raw_name.isascii() else FLAG_UTF8
    return LOCAL.pack(LOCAL_SIG, 45 if zip64 else 20, flags, method, DOS_TIME, DOS_DATE,
                      crc, csize, usize, len(raw_name), len(extra)) + raw_name + extra


def central_entry(raw_name, method, crc, csize, usize, offset, zip64=False,
                  external_attr=EXTERNAL_ATTR):
    """A central-directory entry, with zip64 fields where a value needs them
    (for every value with `zip64=True`), and `external_attr` (the Unix mode
    in its high 16 bits)."""
    values = [usize, csize, offset]
    big = [zip64 or v > ZIP64_LIMIT for v in values]
    extra = b""
    if any(big):
        fields = [v for v, b in zip(values, big) if b]
        extra = struct.pack(f"<HH{len(fields)}Q", ZIP64_EXTRA_ID, 8 * len(fields), *fields)
        usize, csize, offset = (0xFFFFFFFF if b else v for v, b in zip(values, big))
    version = 45 if extra else 20
    flags = 0 if raw_name.isascii() else FLAG_UTF8
    return CENTRAL.pack(CENTRAL_SIG, (3 << 8) | version, version, flags, method, DOS_TIME,
                        DOS_DATE, crc, csize, usize, len(raw_name), len(extra), 0, 0, 0,
                        external_attr, offset) + raw_name + extra


def end_records(count, cd_size, cd_offset, comment=b"", zip64=False):
    """The end-of-central-directory record, preceded by the zip64 end record
    and locator when the count, size or offset needs them (always with
    `zip64=True`)."""
    if (not zip64 and count < COUNT_LIMIT and cd_size <= ZIP64_LIMIT
            and cd_offset <= ZIP64_LIMIT):
        return END.pack(END_SIG, 0, 0, count, count, cd_size, cd_offset,
                        len(comment)) + comment
    end64_at = cd_offset + cd_size
    return (END64.pack(END64_SIG, 44, 45, 45, 0, 0, count, count, cd_size, cd_offset)
            + LOCATOR.pack(LOCATOR_SIG, 0, end64_at, 1)
            + END.pack(END_SIG, 0, 0, 0xFFFF, 0xFFFF, 0xFFFFFFFF, 0xFFFFFFFF,
                       len(comment)) + comment)
