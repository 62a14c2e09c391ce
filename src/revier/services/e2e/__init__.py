"""e2e: end-to-end encryption, as far as a server takes part in it.

Owns device keys and one-time keys, cross-signing keys and signatures, the
device-list stream, to-device messages and server-side key backups, and the
encryption part of a /sync. It never sees a private key or a plaintext.
It asks ``rooms.room_members`` who shares a room with whom; the accounts
wing asks ``cleanup`` to drop what a removed device or a closed account held.

Other wings import from this package only, never from its modules.
"""

from revier.services.e2e import cleanup
from revier.services.e2e.cross_signing import CrossSigningService
from revier.services.e2e.device_lists import record_device_list_change
from revier.services.e2e.e2e_keys import E2eKeyService
from revier.services.e2e.e2e_sync import E2eSync, E2eSyncPart
from revier.services.e2e.key_backup import KeyBackupService
from revier.services.e2e.to_device import ToDeviceService
from revier.storage.e2e.key_backup import BackupVersion, RoomKey

__all__ = [
    "BackupVersion",
    "CrossSigningService",
    "E2eKeyService",
    "E2eSync",
    "E2eSyncPart",
    "KeyBackupService",
    "RoomKey",
    "ToDeviceService",
    "cleanup",
    "record_device_list_change",
]
