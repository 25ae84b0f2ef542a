"""Operators for AWS Batch."""
