"""Knowledge-base task types of the task-manager facade: extract and chunk documents, embed
chunks, store vectors and build the search index, fan batches out, check URLs."""
