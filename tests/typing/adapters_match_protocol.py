"""Typing test, checked by ``mypy --strict tests/typing`` and never run.

Every shipped adapter satisfies :class:`conformance.Adapter` structurally (it is a
Protocol, never a base class): the reference adapter and every mutant as a class
(``type[Adapter]``), as a factory (``AdapterFactory``) and as an instance, and every
mutant's client wrapper as a ``type[ClientSession]``. Each also has a negative control:
an assignment to a ``None``-typed name under ``# type: ignore[assignment]``. With
``warn_unused_ignores`` that proves none of them is typed as ``Any`` (an ``Any`` would
leave the ignore unused, which mypy reports). A new mutant gets a line in each section;
the two private bases are checked too, so a mutant missing here is still covered through
mypy's override checks on the family modules in ``conformance/mutants/``.
"""

from __future__ import annotations

from conformance import Adapter, AdapterFactory, ClientSession, Collector
from conformance.adapters.reference import ReferenceAdapter
from conformance.mutants.base import (
    _client_mutant,
    _ClientWrapper,
    _MutantAdapter,
)
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

collector = Collector()

# -- the reference adapter and the mutants' bases -------------------------------------------------
reference_class: type[Adapter] = ReferenceAdapter
reference_factory: AdapterFactory = ReferenceAdapter
reference: Adapter = ReferenceAdapter(collector)
reference_session: ClientSession = reference.open_client("phone")
mutant_base: type[Adapter] = _MutantAdapter
wrapper_base: type[ClientSession] = _ClientWrapper

reference_class_is_not_any: None = ReferenceAdapter  # type: ignore[assignment]
reference_is_not_any: None = ReferenceAdapter(collector)  # type: ignore[assignment]
reference_session_is_not_any: None = ReferenceAdapter(collector).open_client("p")  # type: ignore[assignment]
mutant_base_is_not_any: None = _MutantAdapter  # type: ignore[assignment]
wrapper_base_is_not_any: None = _ClientWrapper  # type: ignore[assignment]

# -- mutants built around a client wrapper --------------------------------------------------------
ResetKeepsUser = _client_mutant(_ResetKeepsUser)
AnonymousIdPerEvent = _client_mutant(_AnonymousIdPerEvent)
AnonymousIdDroppedOnceIdentified = _client_mutant(_AnonymousIdDroppedOnceIdentified)
IdentifyRotatesAnonymousId = _client_mutant(_IdentifyRotatesAnonymousId)
ResetKeepsTraits = _client_mutant(_ResetKeepsTraits)
LazyReset = _client_mutant(_LazyReset)
IdentifyNotStamped = _client_mutant(_IdentifyNotStamped)
IdentifyOtherKeepsTraits = _client_mutant(_IdentifyOtherKeepsTraits)
IdentifyAcceptsNoUser = _client_mutant(_IdentifyAcceptsNoUser)
AppGroupUser = _client_mutant(_AppGroupUser)
PropertiesByReference = _client_mutant(_PropertiesByReference)
PropertiesShallowCopy = _client_mutant(_PropertiesShallowCopy)

# -- every mutant as a class, a factory and an instance ---------------------------------------
identity_not_persisted_class: type[Adapter] = _IdentityNotPersisted
anonymous_id_per_process_class: type[Adapter] = _AnonymousIdPerProcess
identify_other_keeps_anonymous_id_class: type[Adapter] = _IdentifyOtherKeepsAnonymousId
user_bound_at_flush_class: type[Adapter] = _UserBoundAtFlush
user_shared_between_devices_class: type[Adapter] = _UserSharedBetweenDevices
server_caches_user_class: type[Adapter] = _ServerCachesUser
server_caches_anonymous_id_class: type[Adapter] = _ServerCachesAnonymousId
server_identify_sets_default_user_class: type[Adapter] = _ServerIdentifySetsDefaultUser
server_traits_carry_over_class: type[Adapter] = _ServerTraitsCarryOver
server_mutates_properties_class: type[Adapter] = _ServerMutatesProperties
server_properties_by_reference_class: type[Adapter] = _ServerPropertiesByReference
server_ids_on_instance_class: type[Adapter] = _ServerIdsOnInstance
server_accepts_no_ids_class: type[Adapter] = _ServerAcceptsNoIds
server_drops_anonymous_id_class: type[Adapter] = _ServerDropsAnonymousId
server_swaps_ids_class: type[Adapter] = _ServerSwapsIds
server_ascii_ids_class: type[Adapter] = _ServerAsciiIds
drops_every_seventh_event_class: type[Adapter] = _DropsEverySeventhEvent
identify_sent_twice_class: type[Adapter] = _IdentifySentTwice
retry_new_message_ids_class: type[Adapter] = _RetryNewMessageIds
message_ids_per_batch_class: type[Adapter] = _MessageIdsPerBatch
message_id_from_content_class: type[Adapter] = _MessageIdFromContent
reset_keeps_user_class: type[Adapter] = ResetKeepsUser
anonymous_id_per_event_class: type[Adapter] = AnonymousIdPerEvent
anonymous_id_dropped_once_identified_class: type[Adapter] = AnonymousIdDroppedOnceIdentified
identify_rotates_anonymous_id_class: type[Adapter] = IdentifyRotatesAnonymousId
reset_keeps_traits_class: type[Adapter] = ResetKeepsTraits
lazy_reset_class: type[Adapter] = LazyReset
identify_not_stamped_class: type[Adapter] = IdentifyNotStamped
identify_other_keeps_traits_class: type[Adapter] = IdentifyOtherKeepsTraits
identify_accepts_no_user_class: type[Adapter] = IdentifyAcceptsNoUser
app_group_user_class: type[Adapter] = AppGroupUser
properties_by_reference_class: type[Adapter] = PropertiesByReference
properties_shallow_copy_class: type[Adapter] = PropertiesShallowCopy

MUTANT_FACTORIES: tuple[AdapterFactory, ...] = (
    _IdentityNotPersisted,
    _AnonymousIdPerProcess,
    _IdentifyOtherKeepsAnonymousId,
    _UserBoundAtFlush,
    _UserSharedBetweenDevices,
    _ServerCachesUser,
    _ServerCachesAnonymousId,
    _ServerIdentifySetsDefaultUser,
    _ServerTraitsCarryOver,
    _ServerMutatesProperties,
    _ServerPropertiesByReference,
    _ServerIdsOnInstance,
    _ServerAcceptsNoIds,
    _ServerDropsAnonymousId,
    _ServerSwapsIds,
    _ServerAsciiIds,
    _DropsEverySeventhEvent,
    _IdentifySentTwice,
    _RetryNewMessageIds,
    _MessageIdsPerBatch,
    _MessageIdFromContent,
    ResetKeepsUser,
    AnonymousIdPerEvent,
    AnonymousIdDroppedOnceIdentified,
    IdentifyRotatesAnonymousId,
    ResetKeepsTraits,
    LazyReset,
    IdentifyNotStamped,
    IdentifyOtherKeepsTraits,
    IdentifyAcceptsNoUser,
    AppGroupUser,
    PropertiesByReference,
    PropertiesShallowCopy,
)
MUTANTS: tuple[Adapter, ...] = tuple(factory(collector) for factory in MUTANT_FACTORIES)

# -- every mutant client wrapper as a client session ------------------------------------------
MUTANT_SESSIONS: tuple[type[ClientSession], ...] = (
    _ResetKeepsUser,
    _AnonymousIdPerEvent,
    _AnonymousIdDroppedOnceIdentified,
    _IdentifyRotatesAnonymousId,
    _ResetKeepsTraits,
    _LazyReset,
    _IdentifyNotStamped,
    _IdentifyOtherKeepsTraits,
    _IdentifyAcceptsNoUser,
    _AppGroupUser,
    _PropertiesByReference,
    _PropertiesShallowCopy,
)

# -- negative controls: none of them is Any ---------------------------------------------------
identity_not_persisted_is_not_any: None = _IdentityNotPersisted(collector)  # type: ignore[assignment]
anonymous_id_per_process_is_not_any: None = _AnonymousIdPerProcess(collector)  # type: ignore[assignment]
identify_other_keeps_anonymous_id_is_not_any: None = _IdentifyOtherKeepsAnonymousId(collector)  # type: ignore[assignment]
user_bound_at_flush_is_not_any: None = _UserBoundAtFlush(collector)  # type: ignore[assignment]
user_shared_between_devices_is_not_any: None = _UserSharedBetweenDevices(collector)  # type: ignore[assignment]
server_caches_user_is_not_any: None = _ServerCachesUser(collector)  # type: ignore[assignment]
server_caches_anonymous_id_is_not_any: None = _ServerCachesAnonymousId(collector)  # type: ignore[assignment]
server_identify_sets_default_user_is_not_any: None = _ServerIdentifySetsDefaultUser(collector)  # type: ignore[assignment]
server_traits_carry_over_is_not_any: None = _ServerTraitsCarryOver(collector)  # type: ignore[assignment]
server_mutates_properties_is_not_any: None = _ServerMutatesProperties(collector)  # type: ignore[assignment]
server_properties_by_reference_is_not_any: None = _ServerPropertiesByReference(collector)  # type: ignore[assignment]
server_ids_on_instance_is_not_any: None = _ServerIdsOnInstance(collector)  # type: ignore[assignment]
server_accepts_no_ids_is_not_any: None = _ServerAcceptsNoIds(collector)  # type: ignore[assignment]
server_drops_anonymous_id_is_not_any: None = _ServerDropsAnonymousId(collector)  # type: ignore[assignment]
server_swaps_ids_is_not_any: None = _ServerSwapsIds(collector)  # type: ignore[assignment]
server_ascii_ids_is_not_any: None = _ServerAsciiIds(collector)  # type: ignore[assignment]
drops_every_seventh_event_is_not_any: None = _DropsEverySeventhEvent(collector)  # type: ignore[assignment]
identify_sent_twice_is_not_any: None = _IdentifySentTwice(collector)  # type: ignore[assignment]
retry_new_message_ids_is_not_any: None = _RetryNewMessageIds(collector)  # type: ignore[assignment]
message_ids_per_batch_is_not_any: None = _MessageIdsPerBatch(collector)  # type: ignore[assignment]
message_id_from_content_is_not_any: None = _MessageIdFromContent(collector)  # type: ignore[assignment]
reset_keeps_user_is_not_any: None = ResetKeepsUser(collector)  # type: ignore[assignment]
anonymous_id_per_event_is_not_any: None = AnonymousIdPerEvent(collector)  # type: ignore[assignment]
anonymous_id_dropped_once_identified_is_not_any: None = AnonymousIdDroppedOnceIdentified(collector)  # type: ignore[assignment]
identify_rotates_anonymous_id_is_not_any: None = IdentifyRotatesAnonymousId(collector)  # type: ignore[assignment]
reset_keeps_traits_is_not_any: None = ResetKeepsTraits(collector)  # type: ignore[assignment]
lazy_reset_is_not_any: None = LazyReset(collector)  # type: ignore[assignment]
identify_not_stamped_is_not_any: None = IdentifyNotStamped(collector)  # type: ignore[assignment]
identify_other_keeps_traits_is_not_any: None = IdentifyOtherKeepsTraits(collector)  # type: ignore[assignment]
identify_accepts_no_user_is_not_any: None = IdentifyAcceptsNoUser(collector)  # type: ignore[assignment]
app_group_user_is_not_any: None = AppGroupUser(collector)  # type: ignore[assignment]
properties_by_reference_is_not_any: None = PropertiesByReference(collector)  # type: ignore[assignment]
properties_shallow_copy_is_not_any: None = PropertiesShallowCopy(collector)  # type: ignore[assignment]
reset_keeps_user_session_is_not_any: None = _ResetKeepsUser  # type: ignore[assignment]
anonymous_id_per_event_session_is_not_any: None = _AnonymousIdPerEvent  # type: ignore[assignment]
anonymous_id_dropped_once_identified_session_is_not_any: None = _AnonymousIdDroppedOnceIdentified  # type: ignore[assignment]
identify_rotates_anonymous_id_session_is_not_any: None = _IdentifyRotatesAnonymousId  # type: ignore[assignment]
reset_keeps_traits_session_is_not_any: None = _ResetKeepsTraits  # type: ignore[assignment]
lazy_reset_session_is_not_any: None = _LazyReset  # type: ignore[assignment]
identify_not_stamped_session_is_not_any: None = _IdentifyNotStamped  # type: ignore[assignment]
identify_other_keeps_traits_session_is_not_any: None = _IdentifyOtherKeepsTraits  # type: ignore[assignment]
identify_accepts_no_user_session_is_not_any: None = _IdentifyAcceptsNoUser  # type: ignore[assignment]
app_group_user_session_is_not_any: None = _AppGroupUser  # type: ignore[assignment]
properties_by_reference_session_is_not_any: None = _PropertiesByReference  # type: ignore[assignment]
properties_shallow_copy_session_is_not_any: None = _PropertiesShallowCopy  # type: ignore[assignment]
