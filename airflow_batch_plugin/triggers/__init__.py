"""Triggers for AWS Batch: deferred tasks wait in the triggerer, sharing one poller per connection."""
