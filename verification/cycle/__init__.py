"""The certification cycle: when each retiree is due (rules), the reminders, suspension and
back-pay that follow (service), and the regions' policies for them (policies, data/cycle_policies.toml)."""
