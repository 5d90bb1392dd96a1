"""Nothing phones home: the switches that turn off the telemetry of the libraries we use.

Importing the package changes nothing (a test checks that ``import assistant`` leaves ``os.environ`` as
it was). :func:`quiet_telemetry` is called by the entry points (``assistant`` command, ``python app.py``,
the web chat's ``serve``) before the libraries are imported, and by :meth:`assistant.Assistant.open`
before it builds the model and store clients. Chroma's client is also built with
``anonymized_telemetry=False`` (assistant/store/chroma_backend.py), whatever the environment says.
"""

from __future__ import annotations

import os

__all__ = ["TELEMETRY_SWITCHES", "quiet_telemetry"]

TELEMETRY_SWITCHES: dict[str, str] = {
    "ANONYMIZED_TELEMETRY": "False",  # chromadb (posthog)
    "ORT_DISABLE_TELEMETRY": "1",  # onnxruntime
    "GRADIO_ANALYTICS_ENABLED": "False",  # gradio
    "HF_HUB_DISABLE_TELEMETRY": "1",  # huggingface_hub
    "TOKENIZERS_PARALLELISM": "false",  # not telemetry: silences the tokenizers fork warning of the web server
}


def quiet_telemetry() -> None:
    """Set each switch of :data:`TELEMETRY_SWITCHES` unless the environment already sets it (a user's
    explicit choice wins). Idempotent; a switch takes effect when its library is imported or its
    client built after this call."""
    for key, value in TELEMETRY_SWITCHES.items():
        os.environ.setdefault(key, value)
