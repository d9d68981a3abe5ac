"""What the PDFs share (the quarterly report, the recovery letter): the embedded Chinese font."""
