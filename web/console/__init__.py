"""The staff console on the web: a region's quarter at a glance, lists, a retiree's file, the
review cases with their evidence side by side, and the quarterly report. See app.py."""
