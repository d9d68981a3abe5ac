"""The roster: the office's file of retirees read, checked row by row and imported (service),
its rows and reasons (reader, rows, messages), large files in batches on another core
(batches, worker), and synthetic rosters for benches and tests (synthetic)."""
