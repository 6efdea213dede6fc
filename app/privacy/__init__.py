"""Privacy: PII detection and anonymization (Presidio), consent, the learning outbox, data-subject rights."""
