"""Optional integrity data for ReservedCode1: an SM3withSM2 ``SecurityData`` signature (PG-202511A, LBL-20).

The signed string is ``"Label":"1","ContentProducer":"…","ProduceID":"…"`` (as seen on MiniMax samples);
the signature uses the default SM2 user ID ``1234567812345678`` and OID 1.2.156.10197.1.501, through
gmssl. The JSON layout of ``SecurityData`` below (Algorithm, OID, PublicKey, Signature in hex) is this
project's reading of the guide, which was not available verbatim: **UNCONFIRMED**, documented in
docs/labels.md. A signature that does not verify is reported, never repaired.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass

from hegui.errors import ConfigError
from hegui.label.implicit import AigcLabel

OID_SM3_WITH_SM2 = "1.2.156.10197.1.501"
_N = int("FFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFF7203DF6B21C6052B53BBF40939D54123", 16)


def signed_string(label: AigcLabel) -> str:
    return (
        f'"Label":"{label.Label}","ContentProducer":"{label.ContentProducer}","ProduceID":"{label.ProduceID}"'
    )


@dataclass(frozen=True)
class Sm2Key:
    """An SM2 key pair as hex (private: 64 digits; public: 128 digits, x‖y, no 04 prefix)."""

    private: str
    public: str

    @classmethod
    def from_private(cls, private_hex: str) -> Sm2Key:
        from gmssl import sm2

        private_hex = private_hex.strip().lower()
        try:
            value = int(private_hex, 16)
        except ValueError:
            raise ConfigError("SM2 private key must be 64 hex digits", key="labels.sm2_key_file") from None
        if len(private_hex) != 64 or not 0 < value < _N - 1:
            raise ConfigError("SM2 private key must be 64 hex digits in range", key="labels.sm2_key_file")
        crypt = sm2.CryptSM2(private_key=private_hex, public_key="")
        public = crypt._kg(value, sm2.default_ecc_table["g"])
        return cls(private_hex, public)

    @classmethod
    def generate(cls) -> Sm2Key:
        return cls.from_private(f"{secrets.randbelow(_N - 2) + 1:064x}")


_SIGN_ATTEMPTS = 8


def _verifies(public: str, signature: str, message: bytes) -> bool:
    from gmssl import sm2

    try:
        return bool(sm2.CryptSM2(private_key="", public_key=public).verify_with_sm3(signature, message))
    except (ValueError, IndexError, TypeError):  # gmssl raises these on malformed input and on its own faults
        return False


def sign(label: AigcLabel, key: Sm2Key) -> AigcLabel:
    """The label with a ``SecurityData`` object in ReservedCode1."""
    from gmssl import sm2

    crypt = sm2.CryptSM2(private_key=key.private, public_key=key.public)
    message = signed_string(label).encode("utf-8")
    for _ in range(_SIGN_ATTEMPTS):
        k = f"{secrets.randbelow(_N - 2) + 1:064x}"  # gmssl's own nonce uses `random`, not a CSPRNG
        signature = crypt.sign_with_sm3(message, k)
        # gmssl's point arithmetic fails for a few (nonce, message) pairs: the signature it makes then
        # does not verify, or verifying raises. A label must never carry one: sign again with a new nonce.
        if _verifies(key.public, signature, message):
            break
    else:
        raise RuntimeError(f"SM2 signing failed {_SIGN_ATTEMPTS} times in a row (gmssl)")
    data = {
        "SecurityData": {
            "Algorithm": "SM3withSM2",
            "OID": OID_SM3_WITH_SM2,
            "PublicKey": key.public,
            "Signature": signature,
        }
    }
    return label.with_reserved(code1=json.dumps(data, separators=(",", ":")))


@dataclass(frozen=True)
class SignatureCheck:
    present: bool
    valid: bool
    reason: str


def verify(label_values: dict[str, object], *, trusted_public: str | None = None) -> SignatureCheck:
    """Check a ``SecurityData`` signature in ReservedCode1 or ReservedCode2 (LBL-20)."""

    for field in ("ReservedCode1", "ReservedCode2"):
        raw = label_values.get(field)
        if not isinstance(raw, str) or "SecurityData" not in raw:
            continue
        try:
            data = json.loads(raw)["SecurityData"]
            public, signature = str(data["PublicKey"]), str(data["Signature"])
        except (json.JSONDecodeError, KeyError, TypeError):
            return SignatureCheck(True, False, f"{field}: SecurityData is not the expected JSON object")
        if trusted_public is not None and public.lower() != trusted_public.lower():
            return SignatureCheck(True, False, f"{field}: signed with a key that is not the trusted one")
        label = (
            f'"Label":"{label_values.get("Label")}","ContentProducer":"{label_values.get("ContentProducer")}",'
            f'"ProduceID":"{label_values.get("ProduceID")}"'
        )
        ok = _verifies(public, signature, label.encode())
        return SignatureCheck(
            True, bool(ok), f"{field}: SM3withSM2 signature " + ("verifies" if ok else "does not verify")
        )
    return SignatureCheck(False, False, "no SecurityData in ReservedCode1 or ReservedCode2")
