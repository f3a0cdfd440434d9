"""Workflows every montage has from its first start, so a batch runs on a fresh machine.

They get ids from 0 downwards, so the workflows users create are numbered from 1 as the seed's
examples expect. A deleted built-in comes back at the next start.
"""

from __future__ import annotations

from typing import Any

LOCAL_IMAGE: dict[str, Any] = {
    "id": 0,
    "name": "local-image",
    "description": "Resize each image to fit max_size, watermark it and save it as JPEG; also save a "
                   "thumbnail of each and a contact sheet of the folder. Runs on a local server (Pillow).",
    "scenario": "image-processing",
    "version": "1.0.0",
    "workflow_config": {"nodes": [
        {"id": "load", "type": "load_images"},
        {"id": "resize", "type": "resize", "inputs": {"width": 1024, "height": 1024, "mode": "fit"}},
        {"id": "watermark", "type": "watermark", "inputs": {"text": "montage", "opacity": 0.5}},
        {"id": "save", "type": "save", "inputs": {"format": "jpeg", "quality": 90}},
        {"id": "thumbs", "type": "thumbnail", "from": "load", "inputs": {"size": 256}},
        {"id": "save_thumbs", "type": "save", "inputs": {"format": "png", "suffix": "_thumb"}},
        {"id": "sheet", "type": "contact_sheet", "from": "thumbs", "inputs": {"columns": 4, "cell": 256}},
        {"id": "save_sheet", "type": "save", "inputs": {"format": "png"}},
    ]},
    "node_config": {},
    "input_mapping": {
        "folder": {"node": "load", "input": "folder", "source": "folder"},
        "max_size": [{"node": "resize", "input": "width"}, {"node": "resize", "input": "height"}],
        "watermark_text": {"node": "watermark", "input": "text"},
        "thumbnail_size": {"node": "thumbs", "input": "size"},
        "sheet_columns": {"node": "sheet", "input": "columns"},
    },
    "output_mapping": {"images": {"node": "save"}, "thumbnails": {"node": "save_thumbs"},
                       "contact_sheet": {"node": "save_sheet"}},
    "parameters": {"max_size": 1024, "watermark_text": "montage", "thumbnail_size": 256, "sheet_columns": 4},
}

BUILTINS: tuple[dict[str, Any], ...] = (LOCAL_IMAGE,)
