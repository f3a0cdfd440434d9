"""Batch runs: the parent job of an execution, and what item runners share."""
