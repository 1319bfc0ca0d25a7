"""`idx bench`: load generator processes, baselines and the report."""
