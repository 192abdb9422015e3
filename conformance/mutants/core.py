"""Where the mutants used to live: the names stay importable from here.

The mutants now live by family in :mod:`conformance.mutants.client`, ``.server`` and
``.delivery``, and the registry is :data:`conformance.mutants.MUTANTS`. This module
re-exports them for ``conformance.adapters.catalogue`` and the typing tests.
"""

from __future__ import annotations

from conformance.mutants import MUTANTS
from conformance.mutants.base import Mutant, _client_mutant, _ClientWrapper, _MutantAdapter
from conformance.mutants.client import (
    _AnonymousIdDroppedOnceIdentified,
    _AnonymousIdPerEvent,
    _AnonymousIdPerProcess,
    _AppGroupUser,
    _IdentifyAcceptsNoUser,
    _IdentifyNotStamped,
    _IdentifyOtherKeepsAnonymousId,
    _IdentifyOtherKeepsTraits,
    _IdentifyRotatesAnonymousId,
    _IdentityNotPersisted,
    _LazyReset,
    _PropertiesByReference,
    _PropertiesShallowCopy,
    _ResetKeepsTraits,
    _ResetKeepsUser,
    _UserBoundAtFlush,
    _UserSharedBetweenDevices,
)
from conformance.mutants.delivery import (
    _DropsEverySeventhEvent,
    _IdentifySentTwice,
    _MessageIdFromContent,
    _MessageIdsPerBatch,
    _RetryNewMessageIds,
)
from conformance.mutants.server import (
    _ServerAcceptsNoIds,
    _ServerAsciiIds,
    _ServerCachesAnonymousId,
    _ServerCachesUser,
    _ServerDropsAnonymousId,
    _ServerIdentifySetsDefaultUser,
    _ServerIdsOnInstance,
    _ServerMutatesProperties,
    _ServerPropertiesByReference,
    _ServerSwapsIds,
    _ServerTraitsCarryOver,
)

__all__ = [
    "MUTANTS",
    "Mutant",
    "_AnonymousIdDroppedOnceIdentified",
    "_AnonymousIdPerEvent",
    "_AnonymousIdPerProcess",
    "_AppGroupUser",
    "_ClientWrapper",
    "_DropsEverySeventhEvent",
    "_IdentifyAcceptsNoUser",
    "_IdentifyNotStamped",
    "_IdentifyOtherKeepsAnonymousId",
    "_IdentifyOtherKeepsTraits",
    "_IdentifyRotatesAnonymousId",
    "_IdentifySentTwice",
    "_IdentityNotPersisted",
    "_LazyReset",
    "_MessageIdFromContent",
    "_MessageIdsPerBatch",
    "_MutantAdapter",
    "_PropertiesByReference",
    "_PropertiesShallowCopy",
    "_ResetKeepsTraits",
    "_ResetKeepsUser",
    "_RetryNewMessageIds",
    "_ServerAcceptsNoIds",
    "_ServerAsciiIds",
    "_ServerCachesAnonymousId",
    "_ServerCachesUser",
    "_ServerDropsAnonymousId",
    "_ServerIdentifySetsDefaultUser",
    "_ServerIdsOnInstance",
    "_ServerMutatesProperties",
    "_ServerPropertiesByReference",
    "_ServerSwapsIds",
    "_ServerTraitsCarryOver",
    "_UserBoundAtFlush",
    "_UserSharedBetweenDevices",
    "_client_mutant",
]
