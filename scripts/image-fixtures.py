#!/usr/bin/env python3
"""Hostile and heavy image fixtures for scripts/image-memory-check.sh, made with zlib alone.

  image-fixtures.py flat DIR   DIR/flat-49mp.png: a 7000x7000 single-colour PNG (49 megapixels,
                               about 150 KB on the wire, 147 MB of RGB when decoded whole)
  image-fixtures.py bomb DIR   DIR/iccp-bomb.png: a 10x10 PNG whose iCCP chunk inflates to 1 GiB
                               (about 1 MB on the wire)
"""
import struct
import sys
import zlib


def chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def ihdr(width: int, height: int) -> bytes:
    return chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))


def zeros_compressed(total: int, piece: int = 1 << 24) -> bytes:
    """zlib of `total` zero bytes, compressed in pieces (never holds `total` bytes)."""
    z = zlib.compressobj(9)
    out = []
    block = bytes(piece)
    left = total
    while left:
        n = min(left, piece)
        out.append(z.compress(block[:n]))
        left -= n
    out.append(z.flush())
    return b"".join(out)


def flat(path: str, side: int = 7000, rgb: bytes = b"\x2a\x6f\xb8") -> None:
    z = zlib.compressobj(9)
    row = b"\x00" + rgb * side  # filter type 0, then the pixels
    parts = [z.compress(row) for _ in range(side)]
    parts.append(z.flush())
    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + ihdr(side, side) + chunk(b"IDAT", b"".join(parts)) + chunk(b"IEND", b""))


def bomb(path: str, inflated: int = 1 << 30) -> None:
    pixels = zlib.compress(b"".join(b"\x00" + b"\x80\x80\x80" * 10 for _ in range(10)))
    iccp = b"evil profile\x00\x00" + zeros_compressed(inflated)
    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + ihdr(10, 10) + chunk(b"iCCP", iccp) + chunk(b"IDAT", pixels) + chunk(b"IEND", b""))


if __name__ == "__main__":
    what, directory = sys.argv[1], sys.argv[2]
    if what == "flat":
        flat(f"{directory}/flat-49mp.png")
    elif what == "bomb":
        bomb(f"{directory}/iccp-bomb.png")
    else:
        sys.exit(__doc__)
