"""Personal-data detectors (emails, phones, IPs, Luhn-checked cards, mod-97 IBANs, API keys) and redaction.

Design note: each detector is a regular expression for candidates plus a validator (octets <= 255,
Luhn, IBAN mod 97, digit counts) so that numbers which merely look like PII are left alone. The
detectors run in priority order (secrets before emails before IBANs before cards before IPs before
phones) and a span already claimed by an earlier detector is not reported again: an IP address is
not also a phone number. The report records where (record origin, field, character offsets) and
what kind, never the value itself.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from typing import Callable, Iterator

Span = tuple[int, int]
Detector = Callable[[str], Iterator[Span]]
DETECTORS: dict[str, Detector] = {}  # name -> detector, in priority order


def detector(name: str) -> Callable[[Detector], Detector]:
    """Register a detector under a name (the placeholder is the upper-cased name)."""
    def wrap(func: Detector) -> Detector:
        DETECTORS[name] = func
        return func
    return wrap


@dataclass(frozen=True)
class Finding:
    kind: str
    start: int
    end: int


_SECRETS = [re.compile(p) for p in (
    r"\bAKIA[0-9A-Z]{16}\b", r"\bsk-[A-Za-z0-9_-]{20,}", r"\bgh[pousr]_[A-Za-z0-9]{30,}\b",
    r"\bxox[abprs]-[A-Za-z0-9-]{10,}", r"-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?-----END [A-Z ]*PRIVATE KEY-----")]
_ASSIGNED_SECRET = re.compile(r"(?i)\b(?:api[_-]?key|secret|token|passw(?:or)?d)\b\s*[:=]\s*[\"']?([^\s\"',;]{8,})")
_EMAIL = re.compile(r"\b[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}\b")
_IBAN = re.compile(r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]){11,30}\b")
_CARD = re.compile(r"(?<![\d-])\d(?:[ -]?\d){12,18}(?![\d-])")
_IPV4 = re.compile(r"(?<![\d.])(?:\d{1,3}\.){3}\d{1,3}(?![\d.])")
_IPV6 = re.compile(r"(?<![\w:])(?:[0-9A-Fa-f]{0,4}:){2,7}[0-9A-Fa-f]{1,4}(?![\w:])")
_PHONE = re.compile(r"(?<![\w+])(?:\+\d{1,3}[ .-]?)?(?:\(\d{1,4}\)[ .-]?)?\d{1,4}(?:[ .-]\d{2,4}){1,5}(?![\w])")


@detector("secret")
def find_secrets(text: str) -> Iterator[Span]:
    for pattern in _SECRETS:
        for m in pattern.finditer(text):
            yield m.span()
    for m in _ASSIGNED_SECRET.finditer(text):
        value = m.group(1)  # a secret mixes letters and digits; "passwd: password unchanged" is prose
        if any(ch.isdigit() for ch in value) and any(ch.isalpha() for ch in value):
            yield m.span(1)


@detector("email")
def find_emails(text: str) -> Iterator[Span]:
    return (m.span() for m in _EMAIL.finditer(text))


def iban_valid(candidate: str) -> bool:
    """ISO 13616: move the first four characters to the end, letters to 10..35, the number mod 97 is 1."""
    s = candidate.replace(" ", "")
    if not 15 <= len(s) <= 34:
        return False
    digits = "".join(str(int(ch, 36)) for ch in s[4:] + s[:4])
    return int(digits) % 97 == 1


@detector("iban")
def find_ibans(text: str) -> Iterator[Span]:
    return (m.span() for m in _IBAN.finditer(text) if iban_valid(m.group()))


def luhn_valid(number: str) -> bool:
    """The Luhn checksum of a card number (digits only)."""
    total = 0
    for i, ch in enumerate(reversed(number)):
        d = int(ch) * (2 if i % 2 else 1)
        total += d - 9 if d > 9 else d
    return total % 10 == 0


@detector("card")
def find_cards(text: str) -> Iterator[Span]:
    for m in _CARD.finditer(text):
        digits = re.sub(r"\D", "", m.group())
        if 13 <= len(digits) <= 19 and luhn_valid(digits):
            yield m.span()


def _is_ip(candidate: str) -> bool:
    try:
        ipaddress.ip_address(candidate)
    except ValueError:
        return False
    return candidate.count(":") < 2 or sum(bool(g) for g in candidate.split(":")) >= 3


@detector("ip")
def find_ips(text: str) -> Iterator[Span]:
    for pattern in (_IPV4, _IPV6):
        yield from (m.span() for m in pattern.finditer(text) if _is_ip(m.group()))


@detector("phone")
def find_phones(text: str) -> Iterator[Span]:
    for m in _PHONE.finditer(text):
        if 9 <= sum(ch.isdigit() for ch in m.group()) <= 15:
            yield m.span()


def _overlaps(span: Span, taken: list[Span]) -> bool:
    return any(span[0] < end and start < span[1] for start, end in taken)


def find_pii(text: str, kinds: list[str] | tuple[str, ...] | None = None) -> list[Finding]:
    """Non-overlapping findings of the enabled detectors, sorted by position."""
    findings: list[Finding] = []
    for kind, find in DETECTORS.items():
        if kinds is not None and kind not in kinds:
            continue
        for span in find(text):
            if not _overlaps(span, [(f.start, f.end) for f in findings]):
                findings.append(Finding(kind, *span))
    return sorted(findings, key=lambda f: f.start)


def redact(text: str, findings: list[Finding]) -> str:
    """Replace each finding by its placeholder, e.g. <EMAIL>."""
    out, last = [], 0
    for f in sorted(findings, key=lambda f: f.start):
        out.append(text[last:f.start])
        out.append(f"<{f.kind.upper()}>")
        last = f.end
    out.append(text[last:])
    return "".join(out)
