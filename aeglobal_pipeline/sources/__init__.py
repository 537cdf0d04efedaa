"""Source systems: Salesforce and Account Engagement clients and the extract assets."""
