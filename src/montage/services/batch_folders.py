"""The folders of a batch: checked against the allowed roots when asked for, scanned when run.

Nothing outside the allowed roots (setting ``allowed_roots``) is read or written: target
folders, output root, and every sub-folder and file found under them (a symbolic link that
leads out is skipped).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from montage.domain.batch import BatchItem, matches, unique_names
from montage.errors import PathNotAllowed, ValidationFailed

MAX_TARGETS = 100
MAX_KEYWORDS = 100
MAX_ITEMS = 10_000


@dataclass(frozen=True)
class FolderRequest:
    target_folders: list[str]
    folder_keywords: list[str]
    output_root: str | None

    def as_plan(self) -> dict[str, Any]:
        return {"target_folders": self.target_folders, "folder_keywords": self.folder_keywords,
                "output_root": self.output_root}


def _inside(path: Path, roots: list[Path]) -> bool:
    return any(path.is_relative_to(root) for root in roots)


def _allowed_path(raw: Any, field: str, roots: list[Path]) -> Path:
    if not isinstance(raw, str) or not raw.strip():
        raise ValidationFailed(f"{field} must be a path (got {raw!r})", field=field, received=raw)
    path = Path(raw.strip()).expanduser()
    if not path.is_absolute():
        raise ValidationFailed(f"{field} must be an absolute path (got {raw!r})", field=field, received=raw)
    resolved = path.resolve()
    if not _inside(resolved, roots):
        raise PathNotAllowed(f"{field}: {raw} is outside the allowed folders ({', '.join(map(str, roots))}); "
                             "set MONTAGE_ALLOWED_ROOTS to allow it", field=field, received=raw,
                             allowed_roots=[str(r) for r in roots])
    return resolved


def check_folders(targets: Any, keywords: Any, output_root: Any, roots: list[Path], *,
                  output_required: bool = True) -> FolderRequest:
    """The request's folders, each checked; ``ValidationFailed`` (400) names the bad one."""
    if not isinstance(targets, list) or not targets or len(targets) > MAX_TARGETS:
        raise ValidationFailed(f"target_folders must be a list of 1 to {MAX_TARGETS} folders", field="target_folders")
    folders = []
    for index, raw in enumerate(targets):
        folder = _allowed_path(raw, f"target_folders[{index}]", roots)
        if not folder.is_dir():
            raise ValidationFailed(f"target_folders[{index}]: {raw} does not exist or is not a folder",
                                   field=f"target_folders[{index}]", received=raw)
        folders.append(str(folder))
    if keywords is None:
        keywords = []
    if not isinstance(keywords, list) or len(keywords) > MAX_KEYWORDS or not all(isinstance(k, str) for k in keywords):
        raise ValidationFailed(f"folder_keywords must be a list of at most {MAX_KEYWORDS} strings",
                               field="folder_keywords")
    out = None
    if output_root is not None or output_required:
        root = _allowed_path(output_root, "output_root", roots)
        if root.exists() and not root.is_dir():
            raise ValidationFailed(f"output_root: {output_root} is a file, not a folder", field="output_root")
        out = str(root)
    return FolderRequest(folders, [k.strip() for k in keywords if k.strip()], out)


def scan(request: FolderRequest, roots: list[Path]) -> tuple[list[BatchItem], str]:
    """The matching sub-folders as items (sorted, output folders unique), and a note for the user."""
    found: list[Path] = []
    notes = []
    for target in map(Path, request.target_folders):
        if not target.is_dir():
            notes.append(f"{target} no longer exists")
            continue
        children = sorted((c for c in target.iterdir() if c.is_dir() and not c.name.startswith(".")),
                          key=lambda c: c.name)
        outside = [c for c in children if not _inside(c.resolve(), roots)]
        if outside:
            notes.append(f"skipped {len(outside)} sub-folder(s) of {target} leading outside the allowed roots")
        found += [c for c in children if c not in outside and matches(c.name, request.folder_keywords)]
    if len(found) > MAX_ITEMS:
        raise ValidationFailed(f"{len(found)} folders match; a batch takes at most {MAX_ITEMS}", field="target_folders")
    if not found:
        words = ", ".join(request.folder_keywords) or "(any)"
        notes.insert(0, f"no sub-folder of {', '.join(request.target_folders)} has a name containing any of: {words}")
    names = unique_names([f.name for f in found])
    root = Path(request.output_root) if request.output_root else None
    items = [BatchItem(index=i, folder=str(f.resolve()), name=n, output_dir=str(root / n) if root else None)
             for i, (f, n) in enumerate(zip(found, names, strict=True))]
    return items, "; ".join(notes)
