"""Filters between findings and reports: inline allow markers, allowlists, baselines."""
