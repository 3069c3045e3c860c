"""A defensive reader for GGUF headers: metadata without loading the model.

Model files come from anywhere, so the header is read iteratively (no recursion) from a buffer
that grows in chunks up to `MAX_HEADER_BYTES`, every count and length is checked against a limit
where it is read, and large arrays (the token list, merges, scores) are stepped over, not loaded.
The work is bounded whatever the file says: at most `MAX_HEADER_BYTES` read and
`MAX_STRING_ITEMS` string lengths walked. What llama.cpp's own reader refuses (nested arrays,
duplicate keys or tensor names, misplaced tensor data) is refused here too, with the reason.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

MAGIC = b"GGUF"
MAX_KV = 10_000
MAX_TENSORS = 200_000
MAX_KEY = 65_535
"""The GGUF spec's limit on a key's length."""
MAX_STRING = 16 * 1024 * 1024
MAX_ARRAY = 16 * 1024 * 1024
MAX_HEADER_BYTES = 64 * 1024 * 1024
"""Metadata plus tensor index; real headers are < 20 MB (a 262k-token vocabulary is ~6 MB)."""
MAX_STRING_ITEMS = 1_000_000
"""String lengths walked in one header (a vocabulary plus its merges: ~410k for Llama 3)."""
MAX_TENSOR_NAME = 63
"""llama.cpp's GGML_MAX_NAME is 64 bytes, terminator included."""
MAX_DIMS = 4
BIG_ARRAY = 4096
"""Arrays longer than this are stepped over (their position kept) rather than read into lists."""
_CHUNK = 1024 * 1024

# value type id → struct format of a scalar (8 = string, 9 = array)
_SCALARS = {
    0: "<B",
    1: "<b",
    2: "<H",
    3: "<h",
    4: "<I",
    5: "<i",
    6: "<f",
    7: "<?",
    10: "<Q",
    11: "<q",
    12: "<d",
}
_STRING, _ARRAY = 8, 9
_U64 = struct.Struct("<Q")

# ggml tensor type id → (elements per block, bytes per block), to check the data is complete
_TENSOR_TYPES = {
    0: (1, 4),
    1: (1, 2),
    2: (32, 18),
    3: (32, 20),
    6: (32, 22),
    7: (32, 24),
    8: (32, 34),
    9: (32, 36),
    10: (256, 84),
    11: (256, 110),
    12: (256, 144),
    13: (256, 176),
    14: (256, 210),
    15: (256, 292),
    16: (256, 66),
    17: (256, 74),
    18: (256, 98),
    19: (256, 50),
    20: (32, 18),
    21: (256, 110),
    22: (256, 82),
    23: (256, 136),
    24: (1, 1),
    25: (1, 2),
    26: (1, 4),
    27: (1, 8),
    28: (1, 8),
    29: (256, 56),
    30: (1, 2),
    34: (256, 54),
    35: (256, 66),
}

# llama_ftype (general.file_type) → the quantization name users know
FILE_TYPES = {
    0: "F32",
    1: "F16",
    2: "Q4_0",
    3: "Q4_1",
    7: "Q8_0",
    8: "Q5_0",
    9: "Q5_1",
    10: "Q2_K",
    11: "Q3_K_S",
    12: "Q3_K_M",
    13: "Q3_K_L",
    14: "Q4_K_S",
    15: "Q4_K_M",
    16: "Q5_K_S",
    17: "Q5_K_M",
    18: "Q6_K",
    19: "IQ2_XXS",
    20: "IQ2_XS",
    21: "Q2_K_S",
    22: "IQ3_XS",
    23: "IQ3_XXS",
    24: "IQ1_S",
    25: "IQ4_NL",
    26: "IQ3_S",
    27: "IQ3_M",
    28: "IQ2_S",
    29: "IQ2_M",
    30: "IQ4_XS",
    31: "IQ1_M",
    32: "BF16",
    36: "TQ1_0",
    37: "TQ2_0",
}


class GGUFError(Exception):
    """The file is not a usable GGUF file; the message is a short human reason."""


@dataclass(frozen=True)
class SkippedArray:
    """Where a large array lives in the file, so single elements can be fetched later."""

    item_type: int
    count: int
    offset: int


@dataclass
class GGUFHeader:
    version: int
    tensor_count: int
    metadata: dict[str, object] = field(default_factory=dict)
    data_end: int | None = None
    """Where the last tensor's data ends, when every tensor type is known."""
    value_types: dict[str, int] = field(default_factory=dict)
    """Each metadata key's GGUF value type id (llama.cpp asserts on a wrong one: f32 vs f64)."""
    tensors: dict[str, tuple[tuple[int, ...], int]] = field(default_factory=dict)
    """Each tensor's shape (ggml's order: the row length first) and ggml type id."""


class _Reader:
    """Sequential reads from a file through a buffer that grows in chunks, never past the
    file's end or `limit` bytes; a request beyond either is a `GGUFError`."""

    def __init__(
        self, handle: BinaryIO, size: int, *, start: int = 0, limit: int = MAX_HEADER_BYTES
    ) -> None:
        self.handle = handle
        self.size = size
        self.start = start
        self.base = start
        """The file offset of `buf[0]`."""
        self.limit = limit
        self.buf = bytearray()
        self.pos = start
        self.strings_walked = 0
        handle.seek(start)

    def need(self, n: int) -> None:
        """Make bytes [pos, pos + n) available, or say why they cannot be."""
        end = self.pos + n
        if n < 0 or end > self.size:
            raise GGUFError(f"truncated at byte {self.pos} (wanted {n} more bytes)")
        if end - self.start > self.limit:
            raise GGUFError(f"header larger than {self.limit // (1024 * 1024)} MB")
        have = self.base + len(self.buf)
        if end <= have:
            return
        if self.pos - self.base > _CHUNK:  # drop what has been read: memory stays ~ one chunk
            del self.buf[: self.pos - self.base]
            self.base = self.pos
        want = min(max(end - have, _CHUNK), self.size - have, self.start + self.limit - have)
        data = self.handle.read(want)
        self.buf += data
        if self.base + len(self.buf) < end:
            raise GGUFError(f"truncated at byte {self.base + len(self.buf)}")

    def read(self, n: int) -> bytes:
        self.need(n)
        at = self.pos - self.base
        self.pos += n
        return bytes(self.buf[at : at + n])

    def skip(self, n: int) -> None:
        """Step over `n` bytes; past the buffer, by seeking rather than reading them."""
        if self.pos + n <= self.base + len(self.buf):
            self.pos += n
            return
        if n < 0 or self.pos + n > self.size:
            raise GGUFError(f"truncated at byte {self.pos} (wanted {n} more bytes)")
        if self.pos + n - self.start > self.limit:
            raise GGUFError(f"header larger than {self.limit // (1024 * 1024)} MB")
        self.pos += n
        del self.buf[:]  # in place: a caller may hold a reference
        self.base = self.pos
        self.handle.seek(self.pos)

    def scalar(self, fmt: str) -> int | float | bool:
        size = struct.calcsize(fmt)
        self.need(size)
        value: int | float | bool = struct.unpack_from(fmt, self.buf, self.pos - self.base)[0]
        self.pos += size
        return value

    def u32(self) -> int:
        return int(self.scalar("<I"))

    def u64(self) -> int:
        return int(self.scalar("<Q"))

    def count_strings(self, count: int) -> None:
        self.strings_walked += count
        if self.strings_walked > MAX_STRING_ITEMS:
            raise GGUFError(f"more than {MAX_STRING_ITEMS} strings in the header")

    def string(self, limit: int = MAX_STRING) -> str:
        self.count_strings(1)
        at = self.pos
        length = self.u64()
        if length > limit:
            raise GGUFError(f"string of {length} bytes at byte {at} (limit {limit})")
        return self.read(length).decode("utf-8", errors="replace")

    def skip_strings(self, count: int) -> None:
        """Step over `count` strings: one length read each, the tight loop of the whole reader."""
        self.count_strings(count)
        unpack, buf, base = _U64.unpack_from, self.buf, self.base  # `buf` grows in place
        for _ in range(count):
            if self.pos - base + 8 > len(buf):
                self.need(8)
                base = self.base
            length = unpack(buf, self.pos - base)[0]
            if length > MAX_STRING:
                raise GGUFError(f"string of {length} bytes at byte {self.pos} (limit {MAX_STRING})")
            self.pos += 8
            if self.pos - base + length > len(buf):
                self.skip(length)
                base = self.base
                continue
            self.pos += length

    def value(self, kind: int, key: str) -> object:
        if kind in _SCALARS:
            return self.scalar(_SCALARS[kind])
        if kind == _STRING:
            return self.string()
        if kind != _ARRAY:
            raise GGUFError(f"key {key!r} has unknown value type {kind}")
        item = self.u32()
        count = self.u64()
        if item == _ARRAY:
            raise GGUFError(f"key {key!r} holds nested arrays (llama.cpp cannot read them)")
        if item != _STRING and item not in _SCALARS:
            raise GGUFError(f"key {key!r} is an array of unknown type {item}")
        if count > MAX_ARRAY:
            raise GGUFError(f"key {key!r} is an array of {count} items (limit {MAX_ARRAY})")
        if count > BIG_ARRAY:
            skipped = SkippedArray(item, count, self.pos)
            if item == _STRING:
                self.skip_strings(count)
            else:
                self.skip(struct.calcsize(_SCALARS[item]) * count)
            return skipped
        if item == _STRING:
            return [self.string() for _ in range(count)]
        fmt = _SCALARS[item]
        return [self.scalar(fmt) for _ in range(count)]


def read_header(path: Path) -> GGUFHeader:
    """Metadata and tensor extents of a GGUF file; `GGUFError` with a reason when it is not one."""
    try:
        size = path.stat().st_size
        with path.open("rb") as handle:
            return _parse(_Reader(handle, size))
    except OSError as exc:
        raise GGUFError(f"cannot read ({exc.strerror or exc})") from None


def _parse(reader: _Reader) -> GGUFHeader:
    if reader.size < 4:
        raise GGUFError("not a GGUF file (empty or too short)" if reader.size else "empty file")
    magic = reader.read(4)
    if magic != MAGIC:
        raise GGUFError(f"not a GGUF file (starts with {magic!r})")
    version = reader.u32()
    if version not in (2, 3):
        raise GGUFError(f"unsupported GGUF version {version}")
    tensor_count = reader.u64()
    kv_count = reader.u64()
    if kv_count > MAX_KV or tensor_count > MAX_TENSORS:
        raise GGUFError(f"implausible header ({tensor_count} tensors, {kv_count} metadata keys)")
    header = GGUFHeader(version, tensor_count)
    for _ in range(kv_count):
        key = reader.string(MAX_KEY)
        if key in header.metadata:
            raise GGUFError(f"duplicate metadata key {key!r}")
        kind = reader.u32()
        header.value_types[key] = kind
        header.metadata[key] = reader.value(kind, key)
    header.data_end = _tensor_data_end(reader, header)
    if header.data_end is not None and header.data_end > reader.size:
        raise GGUFError(
            f"truncated: tensor data needs {header.data_end} bytes, the file has {reader.size}"
        )
    return header


def _tensor_data_end(reader: _Reader, header: GGUFHeader) -> int | None:
    """Read the tensor index as llama.cpp does (each tensor's data must follow the previous
    one's, aligned) and work out where the data ends (None if a type is unknown here)."""
    alignment = header.metadata.get("general.alignment", 32)
    if not isinstance(alignment, int) or alignment <= 0 or alignment & (alignment - 1):
        raise GGUFError(f"general.alignment {alignment!r} is not a power of 2")
    expected: int | None = 0
    end = 0
    names: set[str] = set()
    for _ in range(header.tensor_count):
        name = reader.string(MAX_STRING)
        if len(name.encode()) > MAX_TENSOR_NAME:
            raise GGUFError(f"tensor name of {len(name.encode())} bytes (limit {MAX_TENSOR_NAME})")
        if name in names:
            raise GGUFError(f"duplicate tensor {name!r}")
        names.add(name)
        n_dims = reader.u32()
        if n_dims > MAX_DIMS:
            raise GGUFError(f"tensor {name!r} has {n_dims} dimensions (limit {MAX_DIMS})")
        shape = [reader.u64() for _ in range(n_dims)]
        elements = 1
        for n in shape:
            elements *= n
        if any(n >= 2**63 for n in shape) or elements >= 2**63:
            raise GGUFError(f"tensor {name!r} has an impossible shape {shape}")
        kind = reader.u32()
        offset = reader.u64()
        header.tensors[name] = (tuple(shape), kind)
        block = _TENSOR_TYPES.get(kind)
        if expected is None or block is None:
            expected = None  # an unknown type's size is unknown: stop checking placement
            continue
        if shape and shape[0] % block[0]:
            raise GGUFError(f"tensor {name!r} rows are not whole blocks of its type")
        if offset != expected:
            raise GGUFError(f"tensor {name!r} data at offset {offset}, expected {expected}")
        nbytes = elements // block[0] * block[1]
        end = offset + nbytes
        expected = offset + (nbytes + alignment - 1) // alignment * alignment
    if header.tensor_count == 0 or expected is None:
        return None
    data_start = (reader.pos + alignment - 1) // alignment * alignment
    return data_start + end


def array_string(path: Path, array: SkippedArray, index: int) -> str | None:
    """Element `index` of a skipped string array (e.g. one token's text), or None."""
    if array.item_type != _STRING or not 0 <= index < array.count:
        return None
    try:
        size = path.stat().st_size
        with path.open("rb") as handle:
            reader = _Reader(handle, size, start=array.offset)
            reader.skip_strings(index)
            return reader.string()
    except (OSError, GGUFError):
        return None
