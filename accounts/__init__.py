"""Who is talking to the bot: their chosen language and role."""
