"""Typed, validated descriptions of AWS Batch requests."""
