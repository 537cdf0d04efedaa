"""Scoring what the pipeline plans against the generator's ground truth."""
