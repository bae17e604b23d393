"""Template mining: turning messages into the few templates they come from (issue 3, in progress)."""
