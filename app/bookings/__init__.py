"""Bookings: a company's catalog, availability, appointments, calendar feeds and booking webhooks."""
