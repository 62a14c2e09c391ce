"""Storage: schema, migrations, and one small repository per aggregate, in wings.

Services open a transaction with ``Store.transaction()`` (for writes) or
``Store.read()``, and reach their own wing's repositories on it::

    async with store.transaction() as tx:
        user = await CoreRepos.of(tx).users.get(user_id)

Each wing's repositories and tables live in ``storage/<wing>/`` and are
imported by that wing's services alone. Everything inside one
``transaction()`` commits together or not at all, whichever wings wrote.
"""

from revier.storage.store import Conflict, Repositories, Store, Tx

__all__ = ["Conflict", "Repositories", "Store", "Tx"]
