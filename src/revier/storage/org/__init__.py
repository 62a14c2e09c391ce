"""The org wing's storage. Only ``revier.services.org`` imports this package
(an import contract checks it)."""
