"""The ``wsCpMt`` SOAP 1.1 messages, built and read with lxml (never string templates).

Request (fields unqualified, as JAX-WS services expect them)::

    <soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"
                      xmlns:impl="http://impl.bulkSms.ws/">
      <soapenv:Header/>
      <soapenv:Body><impl:wsCpMt>
        <User/><Password/><CPCode/><RequestID/><UserID/><ReceiverID/><ServiceID/>
        <CommandCode>bulksms</CommandCode><Content/><ContentType>0|1</ContentType>
      </impl:wsCpMt></soapenv:Body>
    </soapenv:Envelope>

Answer: ``<ns2:wsCpMtResponse><return><result>1</result><message>…</message></return>``;
``result`` 1 means queued (not delivered).  A SOAP ``Fault`` (HTTP 500) carries
``faultcode`` (``Client``: our request is wrong; ``Server``: theirs) and ``faultstring``.
The format comes from public integrations: check it against the carrier's contract.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import NamedTuple

from lxml import etree  # type: ignore[import-untyped,unused-ignore]

__all__ = ["FIELDS", "SERVICE_NS", "SOAP_ENV", "Answer", "Fault", "UnreadableAnswer",
           "build_answer", "build_fault", "build_request", "parse_answer", "parse_request"]

SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
SERVICE_NS = "http://impl.bulkSms.ws/"
_NSMAP = {"soapenv": SOAP_ENV, "impl": SERVICE_NS}
_RESPONSE_NSMAP = {"S": SOAP_ENV, "ns2": SERVICE_NS}

#: the request's fields, in the order the service's schema lists them
FIELDS = ("User", "Password", "CPCode", "RequestID", "UserID", "ReceiverID", "ServiceID",
          "CommandCode", "Content", "ContentType")

#: no DTDs, no entities, no network: an answer is data, never instructions to the parser
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False,
                          huge_tree=False)


class Answer(NamedTuple):
    result: str
    message: str


class Fault(NamedTuple):
    code: str
    string: str


class UnreadableAnswer(ValueError):
    """Not a wsCpMt answer nor a SOAP fault (the message says what was found)."""


def _envelope(nsmap: Mapping[str, str]) -> tuple[etree._Element, etree._Element]:
    envelope = etree.Element(f"{{{SOAP_ENV}}}Envelope", nsmap=dict(nsmap))
    if "impl" in nsmap:
        etree.SubElement(envelope, f"{{{SOAP_ENV}}}Header")
    return envelope, etree.SubElement(envelope, f"{{{SOAP_ENV}}}Body")


def _serialise(envelope: etree._Element) -> bytes:
    return bytes(etree.tostring(envelope, xml_declaration=True, encoding="UTF-8"))


def build_request(fields: Mapping[str, str]) -> bytes:
    """The wsCpMt request carrying ``fields`` (the names of ``FIELDS``).  Raises
    ``ValueError`` for a value XML cannot carry (a control character)."""
    envelope, body = _envelope(_NSMAP)
    operation = etree.SubElement(body, f"{{{SERVICE_NS}}}wsCpMt")
    for name in FIELDS:
        etree.SubElement(operation, name).text = fields.get(name, "")
    return _serialise(envelope)


def build_answer(result: str, message: str) -> bytes:
    """A wsCpMtResponse (what the service, and the test kit's simulator, answer)."""
    envelope, body = _envelope(_RESPONSE_NSMAP)
    response = etree.SubElement(body, f"{{{SERVICE_NS}}}wsCpMtResponse")
    ret = etree.SubElement(response, "return")
    etree.SubElement(ret, "message").text = message
    etree.SubElement(ret, "result").text = result
    return _serialise(envelope)


def build_fault(code: str, string: str) -> bytes:
    envelope, body = _envelope(_RESPONSE_NSMAP)
    fault = etree.SubElement(body, f"{{{SOAP_ENV}}}Fault")
    etree.SubElement(fault, "faultcode").text = f"S:{code}"
    etree.SubElement(fault, "faultstring").text = string
    return _serialise(envelope)


def _root(content: bytes) -> etree._Element:
    try:
        root = etree.fromstring(content, parser=_PARSER)
    except etree.XMLSyntaxError as exc:
        raise UnreadableAnswer(f"not XML ({exc.msg})") from None
    if root is None:
        raise UnreadableAnswer("empty document")
    return root


def _local(tag: str) -> str:
    return tag.rpartition("}")[2]


def _children(parent: etree._Element) -> dict[str, str]:
    """The text of ``parent``'s child elements by local name (iterating beats ``find``)."""
    return {_local(child.tag): (child.text or "").strip() for child in parent
            if isinstance(child.tag, str)}


_BODY = f"{{{SOAP_ENV}}}Body"
_FAULT = f"{{{SOAP_ENV}}}Fault"


def _operation(root: etree._Element) -> etree._Element:
    """The first element of the envelope's Body."""
    body = next((child for child in root if child.tag == _BODY), None)
    if body is None:
        raise UnreadableAnswer(f"no SOAP Body in a <{_local(str(root.tag))}> document")
    for child in body:
        if isinstance(child.tag, str):
            return child
    raise UnreadableAnswer("an empty SOAP Body")


def parse_answer(content: bytes) -> Answer | Fault:
    """The ``return`` of a wsCpMtResponse, or the SOAP fault."""
    operation = _operation(_root(content))
    if operation.tag == _FAULT:
        fault = _children(operation)
        return Fault(fault.get("faultcode", "").rpartition(":")[2], fault.get("faultstring", ""))
    if _local(operation.tag) != "wsCpMtResponse":
        raise UnreadableAnswer(f"a <{_local(operation.tag)}> answer, not wsCpMtResponse")
    ret = next((child for child in operation if isinstance(child.tag, str)
                and _local(child.tag) == "return"), None)
    if ret is None:
        raise UnreadableAnswer("wsCpMtResponse without a return")
    fields = _children(ret)
    if not fields.get("result"):
        raise UnreadableAnswer("wsCpMtResponse without a result")
    return Answer(fields["result"], fields.get("message", ""))


def parse_request(content: bytes) -> dict[str, str]:
    """The fields of a wsCpMt request (the simulator's side)."""
    operation = _operation(_root(content))
    if operation.tag != f"{{{SERVICE_NS}}}wsCpMt":
        raise UnreadableAnswer(f"a <{_local(str(operation.tag))}> request, not wsCpMt")
    return {_local(child.tag): (child.text or "") for child in operation
            if isinstance(child.tag, str)}
