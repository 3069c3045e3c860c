"""A defensive reader for GGUF headers: metadata without loading the model.

Model files come from anywhere, so every length and count is checked against the file's size
before anything is read, and large arrays (the token list, merges, scores) are skipped, not
loaded: listing a folder of multi-gigabyte models reads a few megabytes at most.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

MAGIC = b"GGUF"
MAX_KV = 1_000_000
MAX_STRING = 64 * 1024 * 1024
MAX_TENSORS = 1_000_000
BIG_ARRAY = 4096
"""Arrays longer than this are skipped (their position kept) rather than read into lists."""

# value type id → struct format of a scalar (8 = string, 9 = array)
_SCALARS = {0: "<B", 1: "<b", 2: "<H", 3: "<h", 4: "<I", 5: "<i", 6: "<f", 7: "<?",
            10: "<Q", 11: "<q", 12: "<d"}
_STRING, _ARRAY = 8, 9

# ggml tensor type id → (elements per block, bytes per block), to check the data is complete
_TENSOR_TYPES = {
    0: (1, 4), 1: (1, 2), 2: (32, 18), 3: (32, 20), 6: (32, 22), 7: (32, 24), 8: (32, 34),
    9: (32, 36), 10: (256, 84), 11: (256, 110), 12: (256, 144), 13: (256, 176), 14: (256, 210),
    15: (256, 292), 16: (256, 66), 17: (256, 74), 18: (256, 98), 19: (256, 50), 20: (32, 18),
    21: (256, 110), 22: (256, 82), 23: (256, 136), 24: (1, 1), 25: (1, 2), 26: (1, 4),
    27: (1, 8), 28: (1, 8), 29: (256, 56), 30: (1, 2), 34: (256, 54), 35: (256, 66),
}

# llama_ftype (general.file_type) → the quantization name users know
FILE_TYPES = {
    0: "F32", 1: "F16", 2: "Q4_0", 3: "Q4_1", 7: "Q8_0", 8: "Q5_0", 9: "Q5_1", 10: "Q2_K",
    11: "Q3_K_S", 12: "Q3_K_M", 13: "Q3_K_L", 14: "Q4_K_S", 15: "Q4_K_M", 16: "Q5_K_S",
    17: "Q5_K_M", 18: "Q6_K", 19: "IQ2_XXS", 20: "IQ2_XS", 21: "Q2_K_S", 22: "IQ3_XS",
    23: "IQ3_XXS", 24: "IQ1_S", 25: "IQ4_NL", 26: "IQ3_S", 27: "IQ3_M", 28: "IQ2_S",
    29: "IQ2_M", 30: "IQ4_XS", 31: "IQ1_M", 32: "BF16", 36: "TQ1_0", 37: "TQ2_0",
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


class _Reader:
    def __init__(self, handle: BinaryIO, size: int) -> None:
        self.handle = handle
        self.size = size
        self.bytes_read = 0

    @property
    def pos(self) -> int:
        return self.handle.tell()

    def read(self, n: int) -> bytes:
        if n < 0 or self.pos + n > self.size:
            raise GGUFError(f"truncated at byte {self.pos} (wanted {n} more bytes)")
        data = self.handle.read(n)
        self.bytes_read += len(data)
        if len(data) != n:
            raise GGUFError(f"truncated at byte {self.pos}")
        return data

    def skip(self, n: int) -> None:
        if n < 0 or self.pos + n > self.size:
            raise GGUFError(f"truncated at byte {self.pos} (wanted {n} more bytes)")
        self.handle.seek(n, 1)

    def scalar(self, fmt: str) -> int | float | bool:
        value: int | float | bool = struct.unpack(fmt, self.read(struct.calcsize(fmt)))[0]
        return value

    def u32(self) -> int:
        return int(self.scalar("<I"))

    def u64(self) -> int:
        return int(self.scalar("<Q"))

    def string(self) -> str:
        length = self.u64()
        if length > MAX_STRING or self.pos + length > self.size:
            raise GGUFError(f"string of {length} bytes at byte {self.pos} runs past the end")
        return self.read(length).decode("utf-8", errors="replace")

    def skip_string(self) -> None:
        length = self.u64()
        if self.pos + length > self.size:
            raise GGUFError(f"string of {length} bytes at byte {self.pos} runs past the end")
        self.skip(length)

    def value(self, kind: int) -> object:
        if kind in _SCALARS:
            return self.scalar(_SCALARS[kind])
        if kind == _STRING:
            return self.string()
        if kind == _ARRAY:
            item = self.u32()
            count = self.u64()
            if count > self.size:
                raise GGUFError(f"array of {count} items at byte {self.pos} is larger than the file")
            if count > BIG_ARRAY:
                skipped = SkippedArray(item, count, self.pos)
                self.skip_items(item, count)
                return skipped
            return [self.value(item) for _ in range(count)]
        raise GGUFError(f"unknown value type {kind} at byte {self.pos}")

    def skip_items(self, item: int, count: int) -> None:
        if item in _SCALARS:
            self.skip(struct.calcsize(_SCALARS[item]) * count)
        elif item == _STRING:
            for _ in range(count):
                self.skip_string()
        elif item == _ARRAY:
            for _ in range(count):
                self.value(_ARRAY)
        else:
            raise GGUFError(f"unknown array item type {item} at byte {self.pos}")


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
        key = reader.string()
        header.metadata[key] = reader.value(reader.u32())
    header.data_end = _tensor_data_end(reader, header)
    if header.data_end is not None and header.data_end > reader.size:
        raise GGUFError(
            f"truncated: tensor data needs {header.data_end} bytes, the file has {reader.size}"
        )
    return header


def _tensor_data_end(reader: _Reader, header: GGUFHeader) -> int | None:
    """Read the tensor index and work out where the data must end (None if a type is unknown)."""
    if header.tensor_count == 0:
        return None
    end = 0
    known = True
    for _ in range(header.tensor_count):
        reader.skip_string()
        n_dims = reader.u32()
        if n_dims > 8:
            raise GGUFError(f"tensor with {n_dims} dimensions at byte {reader.pos}")
        elements = 1
        for _ in range(n_dims):
            elements *= reader.u64()
        kind = reader.u32()
        offset = reader.u64()
        block = _TENSOR_TYPES.get(kind)
        if block is None:
            known = False
            end = max(end, offset)
            continue
        end = max(end, offset + elements // block[0] * block[1])
    alignment = header.metadata.get("general.alignment", 32)
    align = alignment if isinstance(alignment, int) and alignment > 0 else 32
    data_start = (reader.pos + align - 1) // align * align
    return data_start + end if known else None


def array_string(path: Path, array: SkippedArray, index: int) -> str | None:
    """Element `index` of a skipped string array (e.g. one token's text), or None."""
    if array.item_type != _STRING or not 0 <= index < array.count:
        return None
    try:
        size = path.stat().st_size
        with path.open("rb") as handle:
            handle.seek(array.offset)
            reader = _Reader(handle, size)
            for _ in range(index):
                reader.skip_string()
            return reader.string()
    except (OSError, GGUFError):
        return None
