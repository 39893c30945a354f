"""Dagster assets: thin wrappers that read inputs, call plain functions, write Parquet, report metadata."""
