# Demo data and synthetic population generator.
