"""Alerts: rules that open alerts from what is stored, and the channels that notify people of them."""
