"""The mirror of Xero: pulls per data type, stored in ``mirror_records``, every real change published
to the change feed; leases, the sync log and the scheduler around them."""
