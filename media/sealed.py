"""Recordings encrypted at rest: a file written and read in sealed chunks (AES-256-GCM).

The muxer writes into a ``SealedWriter``, which never puts a plaintext byte on disk: every
64 KiB become one chunk, encrypted under a key of the file's own (HKDF-SHA256 of the
deployment's recording key and a random salt kept in the file's header). Each chunk's
nonce is its index and its associated data the header, the index and whether it is the
last, so a chunk cannot be moved, dropped, repeated or the file cut short unnoticed:
``open_sealed`` stops with ``SealedFileError`` at the first chunk that fails.

    file  = MAGIC (8 bytes) | salt (16 bytes) | chunk*
    chunk = length of the ciphertext (4 bytes, big-endian) | last (1 byte) | ciphertext+tag
"""

from __future__ import annotations

import os
import struct
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

MAGIC = b"HRTHREC1"
SALT_BYTES = 16
CHUNK_BYTES = 64 * 1024
_TAG_BYTES = 16
_HEADER = struct.Struct(">IB")
# Domain separation: a recording's key is no other key derived from the same secret.
_INFO = b"hearth recording file v1"


class SealedFileError(Exception):
    """The file is not a sealed recording, was changed, or was cut short."""


def file_key(master_key: bytes, salt: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=salt, info=_INFO).derive(master_key)


def _nonce(index: int) -> bytes:
    return b"\0\0\0\0" + index.to_bytes(8, "big")


def _aad(header: bytes, index: int, last: bool) -> bytes:
    return header + index.to_bytes(8, "big") + (b"\1" if last else b"\0")


class SealedWriter:
    """A write-only, non-seekable file object (what PyAV's muxer is given)."""

    def __init__(self, path: Path, master_key: bytes) -> None:
        salt = os.urandom(SALT_BYTES)
        self._aead = AESGCM(file_key(master_key, salt))
        self._header = MAGIC + salt
        self._file: BinaryIO = open(path, "xb")  # noqa: SIM115 - closed by close()
        os.chmod(path, 0o600)
        self._file.write(self._header)
        self._buffer = bytearray()
        self._index = 0
        self.closed = False
        self.plain_bytes = 0

    def write(self, data: bytes) -> int:
        if self.closed:
            raise ValueError("write to a closed recording")
        self._buffer += data
        self.plain_bytes += len(data)
        while len(self._buffer) > CHUNK_BYTES:
            self._seal(bytes(self._buffer[:CHUNK_BYTES]), last=False)
            del self._buffer[:CHUNK_BYTES]
        return len(data)

    def flush(self) -> None:
        """Nothing to do: only whole chunks reach the file."""

    def close(self) -> None:
        if self.closed:
            return
        self._seal(bytes(self._buffer), last=True)
        self._buffer.clear()
        self.closed = True
        self._file.close()

    def _seal(self, plain: bytes, *, last: bool) -> None:
        sealed = self._aead.encrypt(
            _nonce(self._index), plain, _aad(self._header, self._index, last)
        )
        self._file.write(_HEADER.pack(len(sealed), int(last)) + sealed)
        self._index += 1


def open_sealed(path: Path, master_key: bytes) -> Iterator[bytes]:
    """The plaintext of a sealed file, chunk by chunk; raises SealedFileError at the first
    chunk that does not verify, and at the end if the last chunk never came."""
    with open(path, "rb") as f:
        header = f.read(len(MAGIC) + SALT_BYTES)
        if len(header) != len(MAGIC) + SALT_BYTES or not header.startswith(MAGIC):
            raise SealedFileError("not a sealed recording")
        aead = AESGCM(file_key(master_key, header[len(MAGIC) :]))
        index = 0
        while True:
            head = f.read(_HEADER.size)
            if len(head) < _HEADER.size:
                raise SealedFileError("the recording is cut short")
            size, last = _HEADER.unpack(head)
            if size < _TAG_BYTES or size > CHUNK_BYTES + _TAG_BYTES or last > 1:
                raise SealedFileError("a chunk of the recording is damaged")
            sealed = f.read(size)
            try:
                plain = aead.decrypt(_nonce(index), sealed, _aad(header, index, bool(last)))
            except InvalidTag:
                raise SealedFileError("a chunk of the recording does not verify") from None
            yield plain
            if last:
                if f.read(1):
                    raise SealedFileError("data after the recording's last chunk")
                return
            index += 1
