"""montage: a durable job server for generative media."""

__version__ = "0.1.0"
