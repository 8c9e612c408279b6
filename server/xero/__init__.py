"""The Xero boundary: OAuth, tokens, the rate-limited API client, Xero's wire models and their mapping.

Nothing outside this package speaks Xero's wire format; services get ledgersync entities from
``mapping`` and Xero failures as the ``errors`` family.
"""
