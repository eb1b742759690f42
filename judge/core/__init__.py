"""What every stage shares: the vocabulary and its declarations (mechanisms, rubric families,
verdict contracts, severity mapping kinds), the typed run records, errors, content hashing,
resource paths and text splitting."""
