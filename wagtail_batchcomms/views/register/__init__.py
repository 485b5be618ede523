"""Admin views of the assembly register: viewsets, listing, forms, related panels."""
