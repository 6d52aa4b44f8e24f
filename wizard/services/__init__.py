"""The work itself, free of request objects: views and tests call these."""
