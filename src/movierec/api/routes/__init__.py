"""The service's routes, by resource: the catalog side and the users side."""
