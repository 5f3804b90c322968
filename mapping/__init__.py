"""Community asset and provision-gap mapping: domain and analysis (no Flask)."""
