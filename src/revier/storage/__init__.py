"""Storage: one small repository per aggregate, on the connection of a transaction.

Services open a transaction with ``Store.transaction()`` (for writes) or
``Store.read()`` and reach repositories as attributes of it::

    async with store.transaction() as tx:
        user = await tx.users.get(user_id)

Everything inside one ``transaction()`` commits together or not at all.
"""

from revier.storage.store import Conflict, Store, Tx

__all__ = ["Conflict", "Store", "Tx"]
