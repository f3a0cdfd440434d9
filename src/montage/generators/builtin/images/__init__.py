"""Local image workflows: Pillow nodes, the graph that runs them, and the batch item runner."""
