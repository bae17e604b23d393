"""Template mining: turning messages into the few templates they come from, with dedup."""
