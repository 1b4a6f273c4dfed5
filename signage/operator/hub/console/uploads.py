"""What crosses the trust boundary at upload: the court export and the photos ZIP, checked before any use.

The export must be what its name says: an ``.xlsx`` is a ZIP (the import's own caps then bound what it
reads), a ``.csv`` is text. The photos ZIP is checked from its directory before anything is extracted
(member count, declared sizes, compression ratio, names, links), and extracted flat into a private folder
counting the bytes actually written, so a ZIP whose headers lie is stopped at the cap too.
"""

from __future__ import annotations

import shutil
import stat
import struct
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import BinaryIO

from signage.core.errors import SignageError
from signage.operator.importer.tabular import MAX_FILE_BYTES
from signage.operator.photos import MAX_PHOTO_FILE_BYTES

#: The court export: the import's own cap.
MAX_SOURCE_BYTES = MAX_FILE_BYTES
#: The photos ZIP as uploaded.
MAX_PHOTOS_ZIP_BYTES = 256 * 1024 * 1024
#: A whole upload request: the export, the photos ZIP and room for the form's other fields.
MAX_UPLOAD_BYTES = MAX_SOURCE_BYTES + MAX_PHOTOS_ZIP_BYTES + 1024 * 1024
#: Files in the photos ZIP (a list holds at most 100,000 rows; photos are far fewer in practice).
MAX_PHOTO_MEMBERS = 20_000
#: All photos together, uncompressed.
MAX_PHOTOS_UNCOMPRESSED = 1024 * 1024 * 1024
#: Photos are already compressed (JPEG, PNG): a member shrinking more than this is a bomb.
MAX_COMPRESSION_RATIO = 50
#: Bytes of central directory allowed per member (46 fixed, the name, extra fields): bounds what parsing it costs.
CENTRAL_BYTES_PER_MEMBER = 300
_CHUNK = 1024 * 1024
_EOCD = struct.Struct("<4s4H2LH")
_ZIP64_LOCATOR = struct.Struct("<4sLQL")
_ZIP64_EOCD = struct.Struct("<4sQ2H2L4Q")
_SKIPPED_PREFIXES = ("__MACOSX/",)


class UploadRefused(SignageError):
    """An uploaded file that cannot be used; the message says why and what to do."""


@dataclass(frozen=True)
class ZipSummary:
    """What the photos ZIP's directory declares (checked against the caps)."""

    members: int
    uncompressed: int


def sniff_export(name: str, head: bytes) -> str:
    """The export's kind (``xlsx`` or ``csv``), from its name and first bytes.

    Raises:
        UploadRefused: another extension, or content that is not what the extension says.
    """
    suffix = Path(name).suffix.lower()
    if suffix == ".xlsx":
        if not head.startswith(b"PK\x03\x04"):
            raise UploadRefused(
                "文件扩展名是 .xlsx，但内容不是 Excel 工作簿；请在 Excel 中“另存为” .xlsx 后重新上传",
                "the file is named .xlsx but is not an Excel workbook; save it as .xlsx in Excel and upload again",
            )
        return "xlsx"
    if suffix == ".csv":
        if head.startswith(b"PK\x03\x04") or b"\x00" in head:
            raise UploadRefused(
                "文件扩展名是 .csv，但内容不是文本；请导出为 CSV 或直接上传 .xlsx",
                "the file is named .csv but is not text; export it as CSV or upload the .xlsx",
            )
        return "csv"
    if suffix == ".xls":
        raise UploadRefused(
            "不支持旧版 .xls 文件；请在 Excel 中“另存为” .xlsx 后上传",
            "old .xls files are not supported; save the file as .xlsx in Excel and upload that",
        )
    raise UploadRefused(
        f"不支持的文件类型“{suffix or name}”：请上传法院导出的 .xlsx 或 .csv 文件",
        f"unsupported file type '{suffix or name}': upload the court's .xlsx or .csv export",
    )


def check_photos_zip(handle: BinaryIO) -> ZipSummary:
    """Check the photos ZIP's directory against the caps, without extracting anything.

    Raises:
        UploadRefused: not a ZIP, too many members, too large uncompressed, a suspicious compression
            ratio, a path leading out (``../``, absolute, drive letters), or a link.
    """
    # zipfile parses the whole central directory into memory before anything can be counted: a small ZIP
    # of a million empty entries would take hundreds of MB. Its end record is read first, by hand.
    declared, central_size = _declared_directory(handle)
    if declared > MAX_PHOTO_MEMBERS:
        raise _too_many(declared)
    if central_size > MAX_PHOTO_MEMBERS * CENTRAL_BYTES_PER_MEMBER:
        raise UploadRefused(
            f"照片压缩包的目录有 {central_size:,} 字节，超过 {MAX_PHOTO_MEMBERS:,} 个文件所需，已拒绝",
            f"the photos ZIP's directory is {central_size:,} bytes, more than {MAX_PHOTO_MEMBERS:,} files need; "
            "refused",
        )
    handle.seek(0)
    try:
        archive = zipfile.ZipFile(handle)
    except (zipfile.BadZipFile, OSError, ValueError):
        raise _not_a_zip() from None
    with archive:
        infos = archive.infolist()
        if len(infos) > MAX_PHOTO_MEMBERS:
            raise _too_many(len(infos))
        total = 0
        for info in infos:
            _check_member(info)
            total += info.file_size
            if total > MAX_PHOTOS_UNCOMPRESSED:
                raise _too_large()
        return ZipSummary(len(infos), total)


def _declared_directory(handle: BinaryIO) -> tuple[int, int]:
    """The entry count and central directory size the ZIP's end record declares (ZIP64 when it says so).

    Raises:
        UploadRefused: no end record in the last 64 KB (not a ZIP).
    """
    try:
        size = handle.seek(0, 2)
        tail_start = max(0, size - _EOCD.size - 0xFFFF)
        handle.seek(tail_start)
        tail = handle.read(size - tail_start)
    except (OSError, ValueError):
        raise _not_a_zip() from None
    at = tail.rfind(b"PK\x05\x06")
    if at < 0 or len(tail) - at < _EOCD.size:
        raise _not_a_zip()
    fields = _EOCD.unpack_from(tail, at)
    entries = max(fields[3], fields[4])
    central_size = fields[5]
    locator = tail_start + at - _ZIP64_LOCATOR.size
    if locator >= 0:
        handle.seek(locator)
        found = handle.read(_ZIP64_LOCATOR.size)
        if len(found) == _ZIP64_LOCATOR.size and found.startswith(b"PK\x06\x07"):
            handle.seek(_ZIP64_LOCATOR.unpack(found)[2])
            record = handle.read(_ZIP64_EOCD.size)
            if len(record) < _ZIP64_EOCD.size or not record.startswith(b"PK\x06\x06"):
                raise _not_a_zip()
            zip64 = _ZIP64_EOCD.unpack(record)
            entries = max(entries, zip64[6], zip64[7])
            central_size = max(central_size, zip64[8])
    return entries, central_size


def _not_a_zip() -> UploadRefused:
    return UploadRefused(
        "照片文件不是有效的 ZIP 压缩包；请把照片文件夹压缩为 .zip 后重新上传",
        "the photos file is not a valid ZIP; compress the photo folder as .zip and upload again",
    )


def _too_many(members: int) -> UploadRefused:
    return UploadRefused(
        f"照片压缩包中有 {members:,} 个文件，超过上限 {MAX_PHOTO_MEMBERS:,} 个",
        f"the photos ZIP holds {members:,} files, more than the limit of {MAX_PHOTO_MEMBERS:,}",
    )


def extract_photos(archive_path: Path, destination: Path) -> int:
    """Extract the photos flat into ``destination`` (created, 0700), counting real bytes; returns files written.

    Only plain files are written, under their base name (folders inside the ZIP are flattened, since the
    export names photos by file name alone); a name appearing twice is refused.

    Raises:
        UploadRefused: as :func:`check_photos_zip`, also when the bytes extracted exceed the caps whatever
            the headers declared.
    """
    destination.mkdir(mode=0o700, parents=True, exist_ok=True)
    written = 0
    total = 0
    with archive_path.open("rb") as handle:
        check_photos_zip(handle)
        handle.seek(0)
        with zipfile.ZipFile(handle) as archive:
            for info in archive.infolist():
                name = _plain_name(info)
                if name is None:
                    continue
                target = destination / name
                if target.exists():
                    raise UploadRefused(
                        f"照片压缩包中有两个同名文件“{name}”；请改名后重新上传",
                        f"the photos ZIP holds two files named '{name}'; rename one and upload again",
                    )
                total = _copy_bounded(archive, info, target, total)
                written += 1
    return written


def _copy_bounded(archive: zipfile.ZipFile, info: zipfile.ZipInfo, target: Path, total: int) -> int:
    member_bytes = 0
    try:
        with archive.open(info) as source, target.open("xb") as out:
            target.chmod(0o600)
            while chunk := source.read(_CHUNK):
                member_bytes += len(chunk)
                total += len(chunk)
                if member_bytes > MAX_PHOTO_FILE_BYTES:
                    raise _member_too_large(info.filename)
                if total > MAX_PHOTOS_UNCOMPRESSED:
                    raise _too_large()
                out.write(chunk)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, NotImplementedError) as error:
        raise UploadRefused(
            f"照片压缩包已损坏，无法解压“{info.filename}”：{error}",
            f"the photos ZIP is damaged; '{info.filename}' cannot be extracted: {error}",
        ) from None
    return total


def _check_member(info: zipfile.ZipInfo) -> None:
    name = info.filename
    path = PurePosixPath(name.replace("\\", "/"))
    if path.is_absolute() or ".." in path.parts or ":" in name or "\x00" in name:
        raise UploadRefused(
            f"照片压缩包中的“{name}”指向压缩包以外的位置，已拒绝整个压缩包",
            f"'{name}' in the photos ZIP points outside the archive; the whole ZIP is refused",
        )
    if stat.S_ISLNK(info.external_attr >> 16):
        raise UploadRefused(
            f"照片压缩包中的“{name}”是链接，不是照片；请只压缩照片文件本身",
            f"'{name}' in the photos ZIP is a link, not a photo; compress only the photo files themselves",
        )
    if info.is_dir():
        return
    if info.file_size > _CHUNK and info.file_size > MAX_COMPRESSION_RATIO * max(info.compress_size, 1):
        raise UploadRefused(
            f"照片压缩包中的“{name}”压缩比异常（{info.compress_size:,} 字节解压后为 {info.file_size:,} 字节），"
            "疑似“压缩炸弹”，已拒绝",
            f"'{name}' in the photos ZIP expands from {info.compress_size:,} to {info.file_size:,} bytes, "
            "which looks like a ZIP bomb; refused",
        )
    if info.file_size > MAX_PHOTO_FILE_BYTES:
        raise _member_too_large(name)


def _plain_name(info: zipfile.ZipInfo) -> str | None:
    """The base name to extract ``info`` under, or None for folders and system files."""
    if info.is_dir() or info.filename.startswith(_SKIPPED_PREFIXES):
        return None
    name = PurePosixPath(info.filename.replace("\\", "/")).name
    if not name or name.startswith("."):
        return None
    return name


def _too_large() -> UploadRefused:
    limit = MAX_PHOTOS_UNCOMPRESSED // (1024 * 1024)
    return UploadRefused(
        f"照片压缩包解压后超过 {limit} MB 上限，疑似“压缩炸弹”，已拒绝；请只放入名单所需的照片",
        f"the photos ZIP expands to more than {limit} MB, which looks like a ZIP bomb; refused. "
        "Include only the photos the list needs",
    )


def _member_too_large(name: str) -> UploadRefused:
    limit = MAX_PHOTO_FILE_BYTES // (1024 * 1024)
    return UploadRefused(
        f"照片“{name}”超过 {limit} MB；请缩小后重新上传",
        f"the photo '{name}' is larger than {limit} MB; make it smaller and upload again",
    )


def remove_tree(path: Path) -> None:
    """Delete ``path`` and everything in it, if it exists (raw uploads once imported, extracted photos)."""
    shutil.rmtree(path, ignore_errors=True)
