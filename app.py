"""The web chat over the bundled sample articles: ``python app.py`` → http://127.0.0.1:7860.

Settings come from the environment as everywhere (``ASSISTANT_SERVER__PORT=8000``,
``ASSISTANT_INDEX_ROOT=...``); ``assistant serve --index NAME`` serves another collection.
"""

from __future__ import annotations

import sys

from assistant.telemetry import quiet_telemetry

quiet_telemetry()  # before gradio, chromadb and the models are imported

from assistant.errors import AssistantError  # noqa: E402
from assistant.settings import Settings  # noqa: E402
from assistant.web.app import serve  # noqa: E402

if __name__ == "__main__":
    try:
        sys.exit(serve(settings=Settings()))  # the settings, built once here
    except AssistantError as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(1)
