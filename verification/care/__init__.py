"""Care for those who cannot certify alone: home visits (home_visits) and life events a family
reports, a death or a stay in hospital (life_events)."""
