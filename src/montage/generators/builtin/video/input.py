"""A video generation job's input, as the video stages read it, and its first/last pictures.

The facade (``POST /v1/videos/generations``) checks the request against the model catalog
and stores uploaded pictures under the job's folder before the job starts; the stages then
read :class:`VideoJobInput`. A picture is either such an uploaded file (``path``) or a URL
the job fetches itself (``url``), with the limits of :func:`fetch_picture`.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from io import BytesIO
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

import httpx
from PIL import Image
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from montage import outbound
from montage.errors import GeneratorError, UrlRefused

#: Where a video stage writes the video, relative to the job folder.
VIDEO_PATH = "video/video.mp4"
#: Largest picture accepted (bytes) and its largest size (pixels), uploaded or fetched.
MAX_PICTURE_BYTES = 10 * 1024 * 1024
MAX_PICTURE_PIXELS = 40_000_000
#: Picture formats accepted, by Pillow's name, with the file extension they are stored under.
PICTURE_FORMATS = {"PNG": ".png", "JPEG": ".jpg", "WEBP": ".webp", "BMP": ".bmp", "GIF": ".gif"}
FunctionMode = Literal["first_last_frames", "omni_reference"]
#: Where uploaded pictures are stored in the job folder.
PICTURE_PATH = re.compile(r"inputs/(first|last)\.(png|jpg|webp|bmp|gif)")


class VideoPicture(BaseModel):
    """A first or last frame: a file in the job folder, or a URL."""

    model_config = ConfigDict(extra="forbid")

    role: Literal["first", "last"]
    path: str | None = Field(None, max_length=200, description="Uploaded file, relative to the job folder.")
    url: str | None = Field(None, max_length=4000, description="http(s) URL the job fetches.")

    @field_validator("path")
    @classmethod
    def _in_inputs(cls, value: str | None) -> str | None:
        if value is not None and PICTURE_PATH.fullmatch(value) is None:
            raise ValueError("path must be inputs/first.<ext> or inputs/last.<ext>")
        return value

    @model_validator(mode="after")
    def _one_source(self) -> VideoPicture:
        if (self.path is None) == (self.url is None):
            raise ValueError("a picture has either a path or a url")
        return self


class VideoJobInput(BaseModel):
    """What a video job makes: model, prompt, shape, length and optional first/last frames."""

    model_config = ConfigDict(extra="forbid")

    model: str = Field(min_length=1, max_length=100)
    prompt: str = Field(min_length=1, max_length=4000)
    ratio: str = Field("1:1", max_length=10)
    resolution: str = Field("720p", max_length=10)
    duration: int = Field(5, ge=1, le=600, description="Seconds.")
    function_mode: FunctionMode = "first_last_frames"
    pictures: list[VideoPicture] = Field(default_factory=list, max_length=2)
    asset_base_url: str | None = Field(None, max_length=500,
                                       description="Where this server's /assets/… are reachable (for upstreams).")

    @field_validator("prompt")
    @classmethod
    def _has_text(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("prompt must not be blank")
        return value

    def picture(self, role: str) -> VideoPicture | None:
        return next((p for p in self.pictures if p.role == role), None)


def decode_picture(data: bytes, what: str) -> Image.Image:
    """``data`` as a loaded picture; ``ValueError`` naming ``what`` if it is not one we take."""
    if len(data) > MAX_PICTURE_BYTES:
        raise ValueError(f"{what} is larger than {MAX_PICTURE_BYTES // (1024 * 1024)} MB")
    try:
        with Image.open(BytesIO(data)) as probe:
            kind, size = probe.format, probe.size
            probe.verify()
        if kind not in PICTURE_FORMATS:
            raise ValueError(f"{what} is {kind}, not one of {', '.join(PICTURE_FORMATS)}")
        if size[0] * size[1] > MAX_PICTURE_PIXELS or min(size) < 2:
            raise ValueError(f"{what} is {size[0]}×{size[1]} pixels; at most {MAX_PICTURE_PIXELS} pixels")
        image = Image.open(BytesIO(data))
        image.load()
        return image
    except ValueError:
        raise
    except Exception as exc:  # Pillow raises many kinds for a file that is not a picture
        raise ValueError(f"{what} is not an image ({type(exc).__name__})") from None


def check_public_url(url: str) -> str:
    """``url`` if it is http(s) to a host that is not link-local, multicast or unspecified.

    Loopback and private addresses are allowed (a self-hosted server fetches from its own
    network); the cloud metadata range (169.254.0.0/16) and friends are not.
    """
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"{url!r} is not an http(s) URL")
    try:
        infos = socket.getaddrinfo(parts.hostname, parts.port or 443, proto=socket.IPPROTO_TCP)
    except OSError as exc:
        raise ValueError(f"cannot resolve {parts.hostname}: {exc}") from None
    for info in infos:
        address = ipaddress.ip_address(info[4][0])
        if address.is_link_local or address.is_multicast or address.is_unspecified or address.is_reserved:
            raise ValueError(f"{parts.hostname} resolves to {address}, which is not fetched")
    return url


def fetch_picture(url: str, timeout_s: float = 20.0) -> bytes:
    """The bytes at ``url`` (at most :data:`MAX_PICTURE_BYTES`); ``GeneratorError`` if unavailable."""
    try:
        check_public_url(url)
        # the outbound policy checks the pinned address of the URL and of every redirect
        with httpx.Client(transport=outbound.GuardedTransport(), timeout=timeout_s, follow_redirects=True) as client, \
                client.stream("GET", url) as response:
            if response.status_code != 200:
                raise GeneratorError(f"picture {url} answered {response.status_code}", code="PICTURE_UNAVAILABLE",
                                     retryable=response.status_code >= 500)
            chunks, size = [], 0
            for chunk in response.iter_bytes(1 << 16):
                size += len(chunk)
                if size > MAX_PICTURE_BYTES:
                    raise GeneratorError(f"picture {url} is larger than {MAX_PICTURE_BYTES} bytes",
                                         code="PICTURE_TOO_LARGE", retryable=False)
                chunks.append(chunk)
    except (ValueError, UrlRefused) as exc:
        raise GeneratorError(str(exc), code="PICTURE_UNAVAILABLE", retryable=False) from None
    except httpx.HTTPError as exc:
        raise GeneratorError(f"cannot fetch picture {url}: {exc}", code="PICTURE_UNAVAILABLE") from None
    return b"".join(chunks)


def load_picture(workdir: Path, picture: VideoPicture, timeout_s: float = 20.0) -> Image.Image:
    """The picture, read from the job folder or fetched; ``GeneratorError`` if it is not usable."""
    if picture.path is not None:
        data = (workdir / picture.path).read_bytes()
    else:
        data = fetch_picture(str(picture.url), timeout_s)
    try:
        return decode_picture(data, f"the {picture.role} frame")
    except ValueError as exc:
        raise GeneratorError(str(exc), code="PICTURE_INVALID", retryable=False) from None
