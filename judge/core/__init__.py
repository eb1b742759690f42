"""The vocabulary every stage shares: errors, content hashing, resource paths and text splitting."""
