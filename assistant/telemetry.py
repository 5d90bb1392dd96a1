"""Nothing phones home: the switches that turn off the telemetry of the libraries we use.

Importing the package changes nothing (a test checks that ``import assistant`` leaves ``os.environ`` as
it was, and tests/test_no_phone_home.py that it leaves ``sys.modules`` without ``openvino_telemetry``).
:func:`quiet_telemetry` is called by the entry points (``assistant`` command, ``python app.py``, the web
chat's ``serve``) before the libraries are imported, and by :meth:`assistant.Assistant.open` before it
builds the model and store clients. Chroma's client is also built with ``anonymized_telemetry=False``
(assistant/store/chroma_backend.py), whatever the environment says.

Chroma, onnxruntime, Gradio and Hugging Face read a switch in the environment (:data:`TELEMETRY_SWITCHES`).
OpenVINO has none: ``import openvino`` imports its model converter (``openvino.tools.ovc``), which starts
the ``openvino_telemetry`` package (a dependency of ``openvino``): unless ``~/intel/openvino_telemetry``
holds ``0``, it creates ``~/intel/openvino_ga_cid`` (a client id) and ``~/intel/stats`` (a start count),
and sends an event to ``https://www.google-analytics.com/mp/collect`` from a forked process, on every
import; ``openvino.convert_model`` (the first build of a graph) sends about nine more. Its only off
switches are that file in the user's home, a ``CI=true`` environment (which also changes how
transformers, torch and gradio behave) and the package being absent, for which OpenVINO ships its own
no-op stand-in (``openvino.tools.ovc.telemetry_stub``). So :func:`quiet_telemetry` makes the package
absent for this process (:data:`HIDDEN_MODULES`: ``sys.modules[name] = None``, so importing it raises
``ImportError``): nothing is written into the home, nothing is uninstalled, and OpenVINO (inference and
``convert_model``) works as before. It acts where OpenVINO is imported after it, as in every entry
point, and every place of ours that imports OpenVINO hides it first (:func:`hide_telemetry_modules`); a
script that imports ``openvino`` itself before using the package has started OpenVINO's telemetry on its
own terms. tests/test_no_phone_home.py runs the CLI and the web chat with
every connection and name lookup recorded (Python's socket layer and strace) and a fresh ``HOME``.
"""

from __future__ import annotations

import os
import sys

__all__ = ["HIDDEN_MODULES", "TELEMETRY_SWITCHES", "quiet_telemetry", "hide_telemetry_modules"]

TELEMETRY_SWITCHES: dict[str, str] = {
    "ANONYMIZED_TELEMETRY": "False",  # chromadb (posthog)
    "ORT_DISABLE_TELEMETRY": "1",  # onnxruntime
    "GRADIO_ANALYTICS_ENABLED": "False",  # gradio
    "HF_HUB_DISABLE_TELEMETRY": "1",  # huggingface_hub
    "TOKENIZERS_PARALLELISM": "false",  # not telemetry: silences the tokenizers fork warning of the web server
}

# Telemetry packages with no switch in the environment, whose users fall back to a no-op when they are absent.
HIDDEN_MODULES: tuple[str, ...] = (
    "openvino_telemetry",  # openvino: `import openvino` reports to Google Analytics and writes ~/intel (see above)
)


def quiet_telemetry() -> None:
    """Set each switch of :data:`TELEMETRY_SWITCHES` unless the environment already sets it (a user's
    explicit choice wins), and hide each package of :data:`HIDDEN_MODULES` from this process unless it is
    already imported. Idempotent; a switch takes effect when its library is imported or its client built
    after this call."""
    for key, value in TELEMETRY_SWITCHES.items():
        os.environ.setdefault(key, value)
    hide_telemetry_modules()


def hide_telemetry_modules() -> None:
    """Hide each package of :data:`HIDDEN_MODULES` from this process unless it is already imported. Called by
    :func:`quiet_telemetry` and, right before ``import openvino``, by the code that imports it
    (assistant/models/embedding/openvino_runtime.py, gemma_graphs.py; int8.py before nncf, which reports
    through the same package), so that a script building an
    embedder without an entry point (bench/, tools/, a user's own) is covered too. Sets no environment
    variable."""
    for name in HIDDEN_MODULES:
        sys.modules.setdefault(name, None)  # type: ignore[arg-type]  # None: `import name` raises ImportError
