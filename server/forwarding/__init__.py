"""Forwarding uploads to Xero: settings, the worker, batches, reconciliation. See docs/forwarding.md."""
