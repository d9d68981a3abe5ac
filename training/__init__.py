"""Staff training and examination (issue 19): the question bank and its checks (`bank.py`),
exam papers, time limits, marking and retakes (`exam.py`), and certificates that can be
checked by their number and verification code (`certificates.py`). Plain Python: the bot,
the console and the storage use it."""
