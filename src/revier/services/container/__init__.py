"""All services of one running server, built once at start-up (the composition root).

The wings, bottom up (a wing uses only those before it):

    core → notifications → rooms → e2e → accounts, sync → signin, org;
    media (on core alone)
"""

from revier.services.container.build import build_services
from revier.services.container.services import Services

__all__ = ["Services", "build_services"]
