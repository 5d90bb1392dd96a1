"""The web chat over the bundled sample articles: ``python app.py`` → http://127.0.0.1:7860.

Settings come from the environment as everywhere (``ASSISTANT_SERVER__PORT=8000``,
``ASSISTANT_INDEX_ROOT=...``); ``assistant serve --index NAME`` serves another collection.
"""

from __future__ import annotations

import sys

from assistant.errors import AssistantError
from assistant.web.app import serve

if __name__ == "__main__":
    try:
        sys.exit(serve())
    except AssistantError as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(1)
