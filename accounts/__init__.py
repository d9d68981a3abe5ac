"""Who is talking to the bot and what they may do: the profile (language, role), binding an
account to a retiree with a code from the notice letter (binding, codes), consent to face
checks (consent), staff sign-in (staff), and the lock after wrong tries (lockout)."""
