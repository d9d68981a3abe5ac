"""Plain values every domain package shares: resident ID numbers (GB 11643), administrative
division codes, the clock, and the refusal of a non-staff member. Imports nothing else."""
