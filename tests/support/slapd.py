"""A real LDAP directory for the tests: Debian's slapd in the foreground with its own
configuration and database in a temporary folder, listening on plain LDAP (StartTLS offered)
and LDAPS on 127.0.0.1, with a throw-away CA and a certificate for ``127.0.0.1`` only.

    with Slapd(tmp) as directory:
        directory.add_person("ada", "pw", mail="ada@example.test", groups=["directus_admin"])
        directory.url, directory.ldaps_url, directory.ca_file

People live under ``ou=people``, groups (``groupOfNames``, ``member`` = DN, and a posixGroup
twin under ``ou=posix`` with ``memberUid``) under ``ou=groups``; ``cn=reader`` is the service
account. :meth:`pause` stops the process (SIGSTOP) so it accepts connections and never answers;
:meth:`resume` lets it go on."""

from __future__ import annotations

import datetime
import ipaddress
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import ldap
import ldap.modlist
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.support.server import free_port, terminate, wait_for_port

BASE = "dc=example,dc=test"
ROOT_DN = f"cn=admin,{BASE}"
ROOT_PASSWORD = "slapd-root-password"
READER_DN = f"cn=reader,{BASE}"
READER_PASSWORD = "reader-password-0123"
PEOPLE = f"ou=people,{BASE}"
GROUPS = f"ou=groups,{BASE}"
POSIX = f"ou=posix,{BASE}"
SCHEMA = """\
attributetype ( 1.3.6.1.4.1.55555.1.1 NAME 'userAccountControl'
  EQUALITY integerMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.27 SINGLE-VALUE )
objectclass ( 1.3.6.1.4.1.55555.2.1 NAME 'accountControl' SUP top AUXILIARY
  MAY userAccountControl )
"""


def person_dn(uid: str) -> str:
    return f"uid={ldap.dn.escape_dn_chars(uid)},{PEOPLE}"


def _certificates(folder: Path) -> tuple[Path, Path, Path, Path]:
    """A CA, a server certificate for IP 127.0.0.1 signed by it, and a second, unrelated CA."""

    def name(common: str) -> x509.Name:
        return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common)])

    now = datetime.datetime.now(datetime.UTC)
    paths = []
    authorities = []
    for label in ("ca", "other-ca"):
        key = ec.generate_private_key(ec.SECP256R1())
        cert = (
            x509.CertificateBuilder()
            .subject_name(name(f"test {label}"))
            .issuer_name(name(f"test {label}"))
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256())
        )
        path = folder / f"{label}.pem"
        path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        paths.append(path)
        authorities.append((key, cert))
    ca_key, ca_cert = authorities[0]
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(name("127.0.0.1"))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    cert_path, key_path = folder / "server.pem", folder / "server.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return paths[0], paths[1], cert_path, key_path


class Slapd:
    def __init__(self, tmp: Path) -> None:
        self.dir = tmp / "slapd"
        self.dir.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.ldaps_port = free_port()
        self.process: subprocess.Popen[bytes] | None = None
        self.log_path = self.dir / "slapd.log"
        self.ca_file, self.other_ca_file, self.cert_file, self.key_file = _certificates(self.dir)

    @property
    def url(self) -> str:
        return f"ldap://127.0.0.1:{self.port}"

    @property
    def ldaps_url(self) -> str:
        return f"ldaps://127.0.0.1:{self.ldaps_port}"

    def _config(self) -> Path:
        (self.dir / "control.schema").write_text(SCHEMA)
        database = self.dir / "db"
        database.mkdir(exist_ok=True)
        config = self.dir / "slapd.conf"
        config.write_text(
            "\n".join(
                [
                    "include /etc/ldap/schema/core.schema",
                    "include /etc/ldap/schema/cosine.schema",
                    "include /etc/ldap/schema/inetorgperson.schema",
                    "include /etc/ldap/schema/nis.schema",
                    f"include {self.dir / 'control.schema'}",
                    "modulepath /usr/lib/ldap",
                    "moduleload back_mdb",
                    f"pidfile {self.dir / 'slapd.pid'}",
                    f"TLSCACertificateFile {self.ca_file}",
                    f"TLSCertificateFile {self.cert_file}",
                    f"TLSCertificateKeyFile {self.key_file}",
                    "database mdb",
                    "maxsize 104857600",
                    f'suffix "{BASE}"',
                    f'rootdn "{ROOT_DN}"',
                    f"rootpw {ROOT_PASSWORD}",
                    f"directory {database}",
                    "access to attrs=userPassword by anonymous auth by self write by * none",
                    "access to * by * read",
                    "",
                ]
            )
        )
        return config

    def start(self) -> Self:
        binary = shutil.which("slapd") or "/usr/sbin/slapd"
        if not os.path.exists(binary):
            raise RuntimeError("slapd is not installed (apt-get install slapd ldap-utils)")
        config = self._config()
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [
                    binary,
                    "-d",
                    "stats",
                    "-f",
                    str(config),
                    "-h",
                    f"{self.url}/ {self.ldaps_url}/",
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        try:
            wait_for_port(self.port, timeout=10)
            wait_for_port(self.ldaps_port, timeout=10)
        except TimeoutError:
            self.stop()
            raise RuntimeError(f"slapd did not start:\n{self.log()}") from None
        if not self._exists(BASE):
            self._seed()
        return self

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def admin(self) -> Any:
        connection = ldap.initialize(self.url, bytes_mode=False)
        connection.set_option(ldap.OPT_NETWORK_TIMEOUT, 5)
        connection.simple_bind_s(ROOT_DN, ROOT_PASSWORD)
        return connection

    def _exists(self, dn: str) -> bool:
        connection = self.admin()
        try:
            connection.search_s(dn, ldap.SCOPE_BASE, "(objectClass=*)", ["1.1"])
        except ldap.NO_SUCH_OBJECT:
            return False
        finally:
            connection.unbind_s()
        return True

    def add(self, dn: str, attrs: dict[str, list[str]]) -> None:
        connection = self.admin()
        try:
            encoded = {k: [v.encode() for v in vs] for k, vs in attrs.items()}
            connection.add_s(dn, ldap.modlist.addModlist(encoded))
        finally:
            connection.unbind_s()

    def modify(self, dn: str, attribute: str, values: list[str] | None) -> None:
        """Replace ``attribute`` of ``dn`` with ``values`` (None: remove it)."""
        connection = self.admin()
        try:
            encoded = [v.encode() for v in values] if values is not None else None
            connection.modify_s(dn, [(ldap.MOD_REPLACE, attribute, encoded)])
        finally:
            connection.unbind_s()

    def delete(self, dn: str) -> None:
        connection = self.admin()
        try:
            connection.delete_s(dn)
        finally:
            connection.unbind_s()

    def _seed(self) -> None:
        self.add(BASE, {"objectClass": ["dcObject", "organization"], "dc": ["example"],
                        "o": ["Example"]})  # fmt: skip
        for unit in ("people", "groups", "posix"):
            self.add(f"ou={unit},{BASE}", {"objectClass": ["organizationalUnit"], "ou": [unit]})
        self.add(
            READER_DN,
            {
                "objectClass": ["organizationalRole", "simpleSecurityObject"],
                "cn": ["reader"],
                "userPassword": [READER_PASSWORD],
            },
        )

    def add_person(
        self,
        uid: str,
        password: str,
        *,
        mail: str | None = None,
        given_name: str = "Test",
        surname: str = "Person",
        groups: list[str] = (),  # type: ignore[assignment]
        uid_number: int = 1000,
    ) -> str:
        dn = person_dn(uid)
        attrs = {
            "objectClass": ["inetOrgPerson", "posixAccount", "accountControl"],
            "uid": [uid],
            "cn": [f"{given_name} {surname}"],
            "givenName": [given_name],
            "sn": [surname],
            "userPassword": [password],
            "uidNumber": [str(uid_number)],
            "gidNumber": ["5000"],
            "homeDirectory": [f"/home/{uid}"],
        }
        if mail:
            attrs["mail"] = [mail]
        self.add(dn, attrs)
        for group in groups:
            self.join(uid, group)
        return dn

    def join(self, uid: str, group: str) -> None:
        """Make ``uid`` a member of ``group`` (both the groupOfNames and the posixGroup)."""
        dn, posix = f"cn={group},{GROUPS}", f"cn={group},{POSIX}"
        if not self._exists(dn):
            members = [READER_DN, person_dn(uid)]  # a groupOfNames is never empty
            self.add(dn, {"objectClass": ["groupOfNames"], "cn": [group], "member": members})
            gid = str(6000 + len(group))
            self.add(posix, {"objectClass": ["posixGroup"], "cn": [group], "gidNumber": [gid],
                             "memberUid": [uid]})  # fmt: skip
            return
        connection = self.admin()
        try:
            connection.modify_s(dn, [(ldap.MOD_ADD, "member", [person_dn(uid).encode()])])
            connection.modify_s(posix, [(ldap.MOD_ADD, "memberUid", [uid.encode()])])
        finally:
            connection.unbind_s()

    def leave(self, uid: str, group: str) -> None:
        connection = self.admin()
        try:
            connection.modify_s(
                f"cn={group},{GROUPS}", [(ldap.MOD_DELETE, "member", [person_dn(uid).encode()])]
            )
            connection.modify_s(
                f"cn={group},{POSIX}", [(ldap.MOD_DELETE, "memberUid", [uid.encode()])]
            )
        finally:
            connection.unbind_s()

    def pause(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGCONT)

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGCONT)
        terminate(process)
        time.sleep(0.05)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, exc: type[BaseException] | None, value: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
