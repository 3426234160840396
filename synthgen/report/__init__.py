"""Reports that combine several stages' artifacts (the fidelity gate has its own in fidelity/)."""
