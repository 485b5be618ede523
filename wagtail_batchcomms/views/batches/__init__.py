"""Admin views of batch communications: viewsets, the batch page, its lists and actions, adding
assemblies, letter downloads."""
