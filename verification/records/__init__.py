"""Verification records and what travels between regions: the hash chain per region (chain),
its signed checkpoints (checkpoints), the exchange with other regions (exchange), the
cross-region assistance requests that ride on it (assistance), and exports for staff (exports)."""
