"""The global meta-agent: learns across tenants from anonymized, consented questions only."""
