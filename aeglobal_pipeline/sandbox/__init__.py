"""Local Salesforce + Account Engagement emulator (HTTPS) used for demos, tests and rehearsals."""
