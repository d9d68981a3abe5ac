"""Recovery of pensions paid after entitlement ended: the overpayment rule (`overpayment`),
opening a case inside the death's transaction (`cases`), and the staff's work on it
(`service`: notices, letters, plans, payments, write-off with a second approval)."""
