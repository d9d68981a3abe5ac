"""The check plan: coverage of the year's checks per region and quarter against the 60 %
target, counted from the verification records; retirees proposed for a check on site, ranked
by risk; their assignment to community staff and what the checks found."""
