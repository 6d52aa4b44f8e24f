"""One blueprint per part of the documented flow."""
