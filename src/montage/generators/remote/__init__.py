"""Clients for remote processing servers that run montage stages on real models.

- :class:`ComfyUIClient` speaks ComfyUI's HTTP API and websocket (queue a graph, follow it,
  download its outputs, interrupt it); :func:`apply_input_mapping` fills a stored graph's inputs.
- :class:`HttpGeneratorClient` speaks montage's small generic "http" generator protocol
  (``docs/protocols/http-generator.md``).

Both report progress as ``(percent, message)`` and take an ``is_cancelled`` callable, so a
generator can pass ``ctx.progress`` and ``ctx.check_cancelled`` straight through; failures are
``GeneratorError`` with stable codes (``COMFYUI_*``, ``HTTP_GENERATOR_*``).
"""

from montage.generators.remote.comfyui import ComfyRun, ComfyUIClient, output_files
from montage.generators.remote.comfyui_graph import apply_input_mapping, graph_rejected
from montage.generators.remote.http_generator import HttpGeneratorClient, HttpGeneratorRun, RemoteJob

__all__ = [
    "ComfyRun",
    "ComfyUIClient",
    "HttpGeneratorClient",
    "HttpGeneratorRun",
    "RemoteJob",
    "apply_input_mapping",
    "graph_rejected",
    "output_files",
]
