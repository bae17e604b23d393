"""Analysis over records: patterns and trends (anomalies, incidents, summaries come later)."""
