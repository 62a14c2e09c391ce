"""The signin wing's storage. Only ``revier.services.signin`` imports this
package (an import contract checks it)."""
