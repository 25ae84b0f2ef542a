"""Sensors for AWS Batch."""
