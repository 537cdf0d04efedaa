"""Identity resolution: matching records into global persons, stable ids, steward decisions,
and evaluation of a clustering against ground truth (`identity.metrics`)."""
