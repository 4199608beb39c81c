"""Fixtures of the directory tests that run a server process."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.slapd import GROUPS, PEOPLE, READER_DN, READER_PASSWORD, Slapd

#: Mae's directory password (she is in ``directus_users``).
MAE_PASSWORD = "directory-password-42"


@pytest.fixture(scope="module")
def mae_directory(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Slapd]:
    """A real slapd with one person, ``mae``, in the group ``directus_users``."""
    with Slapd(tmp_path_factory.mktemp("ldap")) as running:
        running.add_person("mae", MAE_PASSWORD, mail="mae@example.test", given_name="Mae",
                           surname="Jemison", groups=["directus_users"])  # fmt: skip
        yield running


def company_over_ldaps(directory: Slapd) -> dict[str, str]:
    """The environment of an ``ldap`` provider ``company`` on ``directory`` over LDAPS, people
    by ``uid``, groups mapped to roles."""
    prefix = "AUTH_COMPANY_"
    return {
        prefix + "DRIVER": "ldap",
        prefix + "CLIENT_URL": directory.ldaps_url,
        prefix + "TLS_CA_FILE": str(directory.ca_file),
        prefix + "BIND_DN": READER_DN,
        prefix + "BIND_PASSWORD": READER_PASSWORD,
        prefix + "USER_DN": PEOPLE,
        prefix + "USER_ATTRIBUTE": "uid",
        prefix + "GROUP_DN": GROUPS,
    }
