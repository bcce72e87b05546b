"""SMS: numbers, text cost, audiences, rendering, compliance policies and preparation.

Submodules: ``numbers`` (E.164, kind, carrier hint), ``encoding`` (GSM-7/UCS-2 cost,
"không dấu"), ``audience`` (reading subscriber lists, the prepared and quarantine
files), ``render`` (a message for one recipient), ``policies`` (the policy base and
decisions), ``prepare`` (all of it into a counted send plan).
"""

from __future__ import annotations
