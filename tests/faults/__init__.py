"""The fault suite of issue 12: each finding of the probe reproduced, and shown fixed."""
