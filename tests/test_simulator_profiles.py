"""Tests for simulator._profiles."""

from __future__ import annotations

import attrs
import pytest
import strategies as gen
from hypothesis import given
from hypothesis import strategies as st

from simulator import (
    PROFILES,
    IdentifyEmits,
    IdentifyOther,
    IdModel,
    Link,
    Profile,
    ReferenceSDK,
    SimulatorError,
    UnknownProfileError,
    get_profile,
)


def assert_unknown_profile_message(error: BaseException, value: object) -> None:
    """Assert the message shows the bad value's repr, its type name and every registered name."""
    message = str(error)
    assert repr(value) in message, message
    assert type(value).__name__ in message, message
    for name in PROFILES:
        assert name in message, message


def test_profiles_are_registered_under_their_own_names() -> None:
    """Every registered profile's name is the key it is registered under."""
    assert all(name == profile.name for name, profile in PROFILES.items())
    assert set(PROFILES) == {"seed", "segment", "rudderstack", "posthog", "mixpanel", "amplitude",
                             "snowplow"}  # fmt: skip


@pytest.mark.parametrize("name", sorted(PROFILES))
def test_get_profile_returns_the_registered_profile(name: str) -> None:
    """get_profile(name) returns the registered profile, and a Profile is returned as is."""
    assert get_profile(name) is PROFILES[name]
    assert get_profile(PROFILES[name]) is PROFILES[name]


def test_the_seed_profile_is_the_strict_default() -> None:
    """The seed profile uses dual ids, both-ids links, identify that always emits, rotation and persistence."""
    seed = PROFILES["seed"]
    assert seed == Profile(name="seed", description=seed.description, source=seed.source)
    assert (seed.id_model, seed.link, seed.identify_emits, seed.identify_other) == (
        IdModel.DUAL, Link.BOTH_IDS, IdentifyEmits.ALWAYS, IdentifyOther.ROTATE_ANONYMOUS)  # fmt: skip
    assert seed.reset_rotates_anonymous_id
    assert seed.persistence
    assert ReferenceSDK().profile is seed


@pytest.mark.parametrize("name", sorted(PROFILES))
def test_every_profile_says_what_it_is_and_where_it_comes_from(name: str) -> None:
    """Every profile has a description and names the document its behaviour comes from."""
    assert PROFILES[name].description
    assert PROFILES[name].source


@pytest.mark.parametrize("name", sorted(PROFILES))
def test_each_profiles_link_reads_its_id_models_fields(name: str) -> None:
    """Dual ids link by both ids, switching ids by merge events, device-and-user ids by device map."""
    expected = {IdModel.DUAL: Link.BOTH_IDS, IdModel.SWITCHING: Link.MERGE_EVENT,
                IdModel.DEVICE_USER: Link.DEVICE_MAP}  # fmt: skip
    assert PROFILES[name].link is expected[PROFILES[name].id_model]


def test_profiles_are_frozen() -> None:
    """A registered profile cannot be changed in place."""
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        PROFILES["seed"].persistence = False  # type: ignore[misc]


def test_knobs_are_str_enums() -> None:
    """Every knob value is a str enum that round-trips through its value."""
    for enum in (IdModel, Link, IdentifyEmits, IdentifyOther):
        for member in enum:
            assert isinstance(member, str)
            assert enum(member.value) is member


@given(name=st.text(max_size=12).filter(lambda n: n not in PROFILES))
def test_an_unknown_name_is_refused_naming_the_choices(name: str) -> None:
    """get_profile with an unregistered name raises UnknownProfileError (a LookupError) naming it and the choices."""
    with pytest.raises(UnknownProfileError) as info:
        get_profile(name)
    assert isinstance(info.value, (LookupError, SimulatorError))
    assert_unknown_profile_message(info.value, name)


@given(value=gen.not_str | st.none())
def test_a_value_that_is_not_a_name_is_refused_naming_its_type(value: object) -> None:
    """get_profile with a non-str, non-Profile value raises UnknownProfileError naming it, its type and the choices."""
    with pytest.raises(UnknownProfileError) as info:
        get_profile(value)
    assert isinstance(info.value, LookupError)
    assert_unknown_profile_message(info.value, value)


def test_the_sdk_refuses_an_unknown_profile() -> None:
    """ReferenceSDK(profile='segmnet') raises UnknownProfileError naming the typo and the choices."""
    with pytest.raises(UnknownProfileError) as info:
        ReferenceSDK(profile="segmnet")  # type: ignore[arg-type]
    assert isinstance(info.value, LookupError)
    assert_unknown_profile_message(info.value, "segmnet")
