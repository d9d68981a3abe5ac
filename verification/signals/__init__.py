"""Proof of life beyond the selfie: feeds of other agencies' records (life signals, deaths)
matched to retirees, silent certification, and suspected false claims."""
