"""Debtor photos: found safely in the operator's folder, decoded under limits, re-encoded clean.

A photo crosses a trust boundary (anyone could have put a file in that folder), so it is matched by
plain file name only, decoded with Pillow under a pixel cap that stops decompression bombs, turned
upright from its EXIF orientation, and re-encoded as a bounded JPEG from raw pixels, so no metadata
(GPS above all) survives. A bad photo never refuses its record: the record is shown without it.
"""

from __future__ import annotations

import hashlib
import io
import warnings
from pathlib import Path
from typing import Protocol

from PIL import Image, ImageOps, UnidentifiedImageError

from signage.core.fsutil import atomic_write
from signage.core.records import PhotoRef
from signage.core.rules import RuleViolation, refuse

MAX_PHOTO_FILE_BYTES = 20 * 1024 * 1024
#: Far above any camera's output (about 50 MP), far below what exhausts memory when decoded.
MAX_PHOTO_PIXELS = 60_000_000
#: Portrait box of the normalised photo: ample for a 4K slide, where the photo takes a third of the height.
OUTPUT_BOX = (600, 800)
MAX_OUTPUT_BYTES = 200_000
_ACCEPTED_FORMATS = ("JPEG", "PNG", "WEBP", "BMP", "GIF", "TIFF")
_QUALITIES = (85, 75, 65, 50)


class PhotoSink(Protocol):
    """Where normalised photos go: the import hands each one over and keeps only its reference."""

    def put(self, jpeg: bytes) -> PhotoRef:
        """Store (or just hash) normalised JPEG bytes and return their reference."""
        ...


class HashingSink:
    """Keeps nothing, only hashes: what ``signage check`` needs."""

    def put(self, jpeg: bytes) -> PhotoRef:
        """Return the reference of ``jpeg`` without storing it."""
        return PhotoRef(hashlib.sha256(jpeg).hexdigest(), len(jpeg))


class DirectorySink:
    """Writes each photo once, atomically, to ``directory/<sha256>`` (content-addressed)."""

    def __init__(self, directory: Path) -> None:
        self._directory = directory
        directory.mkdir(parents=True, exist_ok=True)

    def put(self, jpeg: bytes) -> PhotoRef:
        """Store ``jpeg`` under its hash unless it is already there, and return its reference."""
        ref = HashingSink().put(jpeg)
        target = self._directory / ref.sha256
        if not target.exists():
            atomic_write(target, jpeg)
        return ref


def resolve_photo(folder: Path, name: str) -> Path:
    """The file in ``folder`` named ``name``, refusing anything but a plain file name inside it.

    Raises:
        RuleViolation: a path (``../x.jpg``, ``/etc/x``, ``a/b.jpg``), a link leading out, or no such file.
    """
    plain = name.strip()
    if not plain or plain in (".", "..") or any(sep in plain for sep in ("/", "\\", "\x00")) or ":" in plain:
        raise refuse(
            "photo.path",
            f"照片名“{name}”不是单纯的文件名（不允许路径、../ 或盘符）",
            f"the photo name '{name}' is not a plain file name (no paths, ../ or drive letters)",
            "只填写照片文件名，例如 p0001.jpg，并把照片放在 --photos 指定的文件夹里",
            "write only the file name, e.g. p0001.jpg, and put the photo in the --photos folder",
        )
    root = folder.resolve()
    candidate = (folder / plain).resolve()
    if candidate.parent != root:
        raise refuse(
            "photo.path",
            f"照片“{name}”是指向文件夹外的链接",
            f"the photo '{name}' is a link that leads outside the photo folder",
            "请把照片文件本身复制到照片文件夹中",
            "copy the photo itself into the photo folder",
        )
    if not candidate.is_file():
        raise refuse(
            "photo.missing",
            f"照片文件夹中没有“{name}”",
            f"there is no '{name}' in the photo folder",
            "检查文件名（含扩展名与大小写）是否与表格一致；此条目将不带照片显示",
            "check the name, extension and case; the entry will be shown without a photo",
        )
    return candidate


def normalise_photo(path: Path) -> bytes:
    """Read, check and re-encode one photo as an upright, metadata-free JPEG inside :data:`OUTPUT_BOX`.

    Raises:
        RuleViolation: too large a file, too many pixels, not an image, or corrupt.
    """
    size = path.stat().st_size
    if size > MAX_PHOTO_FILE_BYTES:
        raise refuse(
            "photo.too_large",
            f"照片文件 {size // 1_048_576} MB，超过上限 {MAX_PHOTO_FILE_BYTES // 1_048_576} MB",
            f"the photo file is {size // 1_048_576} MB, over the {MAX_PHOTO_FILE_BYTES // 1_048_576} MB limit",
            "请缩小照片后再导入",
            "shrink the photo and import again",
        )
    data = path.read_bytes()
    try:
        with warnings.catch_warnings():
            # Pillow only warns between MAX_IMAGE_PIXELS and twice that; our own cap below decides.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            decoded = Image.open(io.BytesIO(data), formats=_ACCEPTED_FORMATS)
            width, height = decoded.size
            if width * height > MAX_PHOTO_PIXELS:
                raise _too_many_pixels(f"{width}×{height} ")
            # JPEG can decode at a reduced scale directly; it saves most of the time on camera photos.
            decoded.draft("RGB", (OUTPUT_BOX[0] * 2, OUTPUT_BOX[1] * 2))
            image = _flatten(ImageOps.exif_transpose(decoded))
            image.thumbnail(OUTPUT_BOX, Image.Resampling.LANCZOS)
    except RuleViolation:
        raise
    except Image.DecompressionBombError:
        # Pillow's own guard fires first, at twice its default limit, before the size is known to us.
        raise _too_many_pixels("") from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as error:
        raise refuse(
            "photo.corrupt",
            "照片文件损坏或不是图片",
            f"the photo is damaged or not an image ({type(error).__name__})",
            "请重新导出照片（JPEG 或 PNG）；此条目将不带照片显示",
            "export the photo again as JPEG or PNG; the entry will be shown without a photo",
        ) from None
    # A fresh image from raw pixels carries no EXIF, XMP, ICC or GPS: nothing but what a screen shows.
    clean = Image.frombytes("RGB", image.size, image.tobytes())
    for quality in _QUALITIES:
        buffer = io.BytesIO()
        clean.save(buffer, format="JPEG", quality=quality, optimize=True)
        if buffer.tell() <= MAX_OUTPUT_BYTES:
            break
    return buffer.getvalue()


def _too_many_pixels(size: str) -> RuleViolation:
    return refuse(
        "photo.pixels",
        f"照片 {size}像素数超过上限 {MAX_PHOTO_PIXELS // 10_000} 万（可能是恶意构造的文件）",
        f"the photo {size}has more than {MAX_PHOTO_PIXELS:,} pixels (possibly a decompression bomb)",
        "请使用普通尺寸的证件照",
        "use an ordinary-sized portrait photo",
    )


def _flatten(image: Image.Image) -> Image.Image:
    """RGB on white, whatever the mode: transparency in a PNG must not turn black on screen."""
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        background = Image.new("RGB", rgba.size, (255, 255, 255))
        background.paste(rgba, mask=rgba.getchannel("A"))
        return background
    return image.convert("RGB")
