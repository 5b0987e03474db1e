"""Side-by-side comparisons with the tools users would otherwise reach for."""
